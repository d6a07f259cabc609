"""From raw rows (prefix text, origins, line) to clean, sorted, unique route arrays.

Every loader ends here, so the rules for bad input live in one place: malformed prefixes and
origins are skipped, host bits are cleared, default routes are dropped (a /0 would silently cover
every address), and rows for the same prefix are merged, keeping every origin (MOAS) with the first
row's origin as the primary one; routes in private/reserved space are kept but reported. Each
decision is reported as a :class:`LoadIssue`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from hostwatch.net.addresses import (
    FAMILY_V4,
    FAMILY_V6,
    ipv4_mask,
    ipv4_to_text,
    ipv6_mask,
    ipv6_to_text,
    parse_addresses,
)
from hostwatch.net.routing.bogons import bogon_ipv4, bogon_ipv6
from hostwatch.net.routing.issues import LoadIssue

AS_TRANS = 23456
MAX_ASN = 0xFFFFFFFF

_Sorted = tuple[np.ndarray, np.ndarray, np.ndarray]


@dataclass
class RawRoutes:
    """Rows as read by a loader, before any checking; ``origins`` holds one tuple per row."""

    file: str
    addresses: list[str] = field(default_factory=list)
    lengths: list[str | int] = field(default_factory=list)
    origins: list[tuple[int, ...]] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)
    issues: list[LoadIssue] = field(default_factory=list)

    def add(self, address: str, length: str | int, origins: tuple[int, ...], line: int) -> None:
        self.addresses.append(address)
        self.lengths.append(length)
        self.origins.append(origins)
        self.lines.append(line)

    def problem(self, line: int, reason: str) -> None:
        self.issues.append(LoadIssue(self.file, line, reason))


@dataclass(frozen=True)
class RouteArrays:
    """Unique routes, IPv4 first (sorted by network, length), then IPv6 (same order).

    Route ``i`` has primary origin ``origin[i]`` and all origins
    ``origin_values[origin_offsets[i] : origin_offsets[i + 1]]`` (primary first).
    """

    v4_network: np.ndarray
    v4_length: np.ndarray
    v6_network: np.ndarray
    v6_length: np.ndarray
    origin: np.ndarray
    origin_offsets: np.ndarray
    origin_values: np.ndarray

    @property
    def count(self) -> int:
        return int(self.v4_length.size + self.v6_length.size)

    def prefix_texts(self, routes: np.ndarray) -> list[str]:
        """``network/length`` for the given route numbers."""
        routes = np.asarray(routes, dtype=np.int64)
        n4 = self.v4_length.size
        out = [""] * routes.size
        is4 = routes < n4
        pos4 = np.flatnonzero(is4)
        r4 = routes[pos4]
        for i, net, plen in zip(
            pos4.tolist(),
            ipv4_to_text(self.v4_network[r4]),
            self.v4_length[r4].tolist(),
            strict=True,
        ):
            out[i] = f"{net}/{plen}"
        pos6 = np.flatnonzero(~is4)
        r6 = routes[pos6] - n4
        for i, net, plen in zip(
            pos6.tolist(),
            ipv6_to_text(self.v6_network[r6]),
            self.v6_length[r6].tolist(),
            strict=True,
        ):
            out[i] = f"{net}/{plen}"
        return out

    def origins_of(self, route: int) -> tuple[int, ...]:
        lo, hi = self.origin_offsets[route], self.origin_offsets[route + 1]
        return tuple(int(a) for a in self.origin_values[lo:hi])


def build_routes(raw: RawRoutes) -> tuple[RouteArrays, list[LoadIssue]]:
    """Check, normalise and merge raw rows; return the routes and every issue found."""
    issues = list(raw.issues)
    lines = np.asarray(raw.lines, dtype=np.int64)
    parsed = parse_addresses(raw.addresses)
    length = _parse_lengths(raw.lengths)
    family = parsed.family
    keep = family != 0
    for i, text in parsed.malformed:
        issues.append(LoadIssue(raw.file, int(lines[i]), f"malformed prefix address {text!r}"))
    limit = np.where(family == FAMILY_V6, 128, 32)
    bad_len = keep & ((length < 0) | (length > limit))
    for i in np.flatnonzero(bad_len).tolist():
        issues.append(
            LoadIssue(raw.file, int(lines[i]), f"malformed prefix length {raw.lengths[i]!r}")
        )
    keep &= ~bad_len
    default = keep & (length == 0)
    for i in np.flatnonzero(default).tolist():
        issues.append(
            LoadIssue(
                raw.file, int(lines[i]), "default route /0 skipped (it would cover everything)"
            )
        )
    keep &= ~default
    origins = raw.origins
    for i in _suspect_origins(origins, keep).tolist():
        row = origins[i]
        if not row or any(a <= 0 or a > MAX_ASN for a in row):
            issues.append(LoadIssue(raw.file, int(lines[i]), f"invalid origin AS {row!r}"))
            keep[i] = False
        elif AS_TRANS in row:
            issues.append(
                LoadIssue(
                    raw.file,
                    int(lines[i]),
                    "origin AS_TRANS 23456 kept as is (a 2-byte speaker hid the 4-byte origin)",
                )
            )
    is4 = keep & (family == FAMILY_V4)
    is6 = keep & (family == FAMILY_V6)
    net4, len4, rows4 = _normalise(FAMILY_V4, parsed.v4, length, is4, lines, raw, issues)
    net6, len6, rows6 = _normalise(FAMILY_V6, parsed.v6, length, is6, lines, raw, issues)
    special = np.concatenate([rows4[bogon_ipv4(net4, len4)], rows6[bogon_ipv6(net6, len6)]])
    for i in np.sort(special).tolist():
        issues.append(
            LoadIssue(
                raw.file,
                int(lines[i]),
                f"special-purpose (private/reserved) space routed: "
                f"{raw.addresses[i]}/{raw.lengths[i]}; kept",
            )
        )
    routes = _assemble((net4, len4, rows4), (net6, len6, rows6), origins, lines, raw.file, issues)
    return routes, issues


def merge_routes(parts: Sequence[RouteArrays]) -> RouteArrays:
    """One route set from several; for a prefix in more than one, the first part's origin is
    primary and every origin is kept."""
    origins: list[tuple[int, ...]] = []
    nets4: list[np.ndarray] = []
    lens4: list[np.ndarray] = []
    rows4: list[np.ndarray] = []
    nets6: list[np.ndarray] = []
    lens6: list[np.ndarray] = []
    rows6: list[np.ndarray] = []
    for part in parts:
        values = part.origin_values.tolist()
        offsets = part.origin_offsets.tolist()
        base = len(origins)
        origins.extend(tuple(values[offsets[i] : offsets[i + 1]]) for i in range(part.count))
        n4 = part.v4_length.size
        nets4.append(part.v4_network)
        lens4.append(part.v4_length.astype(np.int64))
        rows4.append(np.arange(base, base + n4))
        nets6.append(part.v6_network)
        lens6.append(part.v6_length.astype(np.int64))
        rows6.append(np.arange(base + n4, base + part.count))
    net4, len4, row4 = (np.concatenate(x) for x in (nets4, lens4, rows4))
    net6, len6, row6 = np.concatenate(nets6).reshape(-1, 2), *map(np.concatenate, (lens6, rows6))
    order4 = np.lexsort((row4, len4, net4))
    order6 = np.lexsort((row6, len6, net6[:, 1], net6[:, 0]))
    lines = np.arange(len(origins))
    return _assemble(
        (net4[order4], len4[order4], row4[order4]),
        (net6[order6], len6[order6], row6[order6]),
        origins,
        lines,
        "<merge>",
        [],
    )


def _assemble(
    v4: _Sorted,
    v6: _Sorted,
    origins: list[tuple[int, ...]],
    lines: np.ndarray,
    file: str,
    issues: list[LoadIssue],
) -> RouteArrays:
    """Routes from rows sorted by (network, length, row): one route per run of equal prefixes."""
    net4, len4, rows4 = v4
    net6, len6, rows6 = v6
    rows_sorted = np.concatenate([rows4, rows6])
    heads = np.concatenate([_group_heads(net4[:, None], len4), _group_heads(net6, len6)])
    origin, offsets, values = _merge_origins(rows_sorted, heads, origins, lines, file, issues)
    starts = np.flatnonzero(heads)
    n4 = int(np.count_nonzero(heads[: rows4.size]))
    v4_starts = starts[:n4]
    v6_starts = starts[n4:] - rows4.size
    return RouteArrays(
        v4_network=net4[v4_starts].astype(np.uint32),
        v4_length=len4[v4_starts].astype(np.uint8),
        v6_network=net6[v6_starts].astype(np.uint64).reshape(-1, 2),
        v6_length=len6[v6_starts].astype(np.uint8),
        origin=origin,
        origin_offsets=offsets,
        origin_values=values,
    )


def _suspect_origins(origins: list[tuple[int, ...]], keep: np.ndarray) -> np.ndarray:
    """Rows (among ``keep``) whose origins need a closer look: not one plain valid ASN, or AS_TRANS.

    Checked with arrays first, because a million rows of one ordinary ASN are the normal case.
    """
    n = len(origins)
    if n == 0:
        return np.zeros(0, np.int64)
    counts = np.fromiter(map(len, origins), np.int64, n)
    try:
        first = np.array([row[0] if row else 0 for row in origins], dtype=np.int64)
    except OverflowError:
        return np.flatnonzero(keep)
    plain = (counts == 1) & (first > 0) & (first <= MAX_ASN) & (first != AS_TRANS)
    return np.flatnonzero(keep & ~plain)


def _parse_lengths(lengths: Sequence[str | int]) -> np.ndarray:
    try:
        return np.array(lengths, dtype=np.int64)
    except (ValueError, TypeError, OverflowError):
        out = np.full(len(lengths), -1, np.int64)
        for i, text in enumerate(lengths):
            try:
                value = int(text)
            except (ValueError, TypeError):
                continue
            if str(value) == str(text).strip():
                out[i] = value
        return out


def _normalise(
    family: int,
    addresses: np.ndarray,
    length: np.ndarray,
    selected: np.ndarray,
    lines: np.ndarray,
    raw: RawRoutes,
    issues: list[LoadIssue],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Clear host bits (reporting each row) and sort rows by (network, length, row)."""
    rows = np.flatnonzero(selected)
    plen = length[rows]
    given = addresses[rows]
    if family == FAMILY_V4:
        net = given & ipv4_mask(plen)
        changed = net != given
        order = np.lexsort((rows, plen, net))
        to_text = ipv4_to_text
    else:
        net = given & ipv6_mask(plen)
        changed = (net != given).any(axis=1)
        order = np.lexsort((rows, plen, net[:, 1], net[:, 0]))
        to_text = ipv6_to_text
    for j in np.flatnonzero(changed).tolist():
        i = int(rows[j])
        fixed = f"{to_text(net[j : j + 1])[0]}/{plen[j]}"
        issues.append(
            LoadIssue(
                raw.file,
                int(lines[i]),
                f"host bits set in {raw.addresses[i]}/{plen[j]}, normalised to {fixed}",
            )
        )
    return net[order], plen[order], rows[order]


def _group_heads(keys: np.ndarray, plen: np.ndarray) -> np.ndarray:
    """True at the first row of each run of equal (network, length) in sorted rows."""
    heads = np.ones(plen.size, bool)
    if plen.size > 1:
        same = (keys[1:] == keys[:-1]).all(axis=1) & (plen[1:] == plen[:-1])
        heads[1:] = ~same
    return heads


def _merge_origins(
    rows: np.ndarray,
    heads: np.ndarray,
    origins: list[tuple[int, ...]],
    lines: np.ndarray,
    file: str,
    issues: list[LoadIssue],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Primary origin per route and all origins (CSR); warn about exact duplicate rows."""
    starts = np.flatnonzero(heads)
    head_rows = rows[starts].tolist()
    primary = np.array([origins[r][0] for r in head_rows], dtype=np.int64)
    group_size = np.diff(np.append(starts, rows.size))
    single = [origins[r] for r in head_rows]
    multi = np.flatnonzero((group_size > 1) | np.array([len(o) > 1 for o in single], bool))
    merged: dict[int, tuple[int, ...]] = {}
    for g in multi.tolist():
        members = rows[starts[g] : starts[g] + group_size[g]].tolist()
        seen: list[int] = []
        first_line: dict[tuple[int, ...], int] = {}
        for r in members:
            row = origins[r]
            if row in first_line:
                issues.append(
                    LoadIssue(
                        file,
                        int(lines[r]),
                        f"duplicate row for the same prefix and origin (first at line "
                        f"{first_line[row]})",
                    )
                )
            else:
                first_line[row] = int(lines[r])
            seen.extend(a for a in row if a not in seen)
        merged[g] = tuple(seen)
    counts = np.ones(starts.size, np.int64)
    for g, values in merged.items():
        counts[g] = len(values)
    offsets = np.zeros(starts.size + 1, np.int64)
    np.cumsum(counts, out=offsets[1:])
    values = np.empty(int(offsets[-1]), np.uint32)
    values[offsets[:-1]] = primary
    for g, group in merged.items():
        values[offsets[g] : offsets[g + 1]] = group
    return primary, offsets, values
