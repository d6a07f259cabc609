"""Registry and country per IP block and ASN from the RIRs' delegated-extended statistics.

Each RIR publishes daily which blocks and AS numbers it delegated, to which country, when, with
what status, and an opaque id shared by everything one organisation holds in that RIR. Loaded into
sorted interval arrays, these answer "which RIR, which country" for millions of addresses with one
``searchsorted`` per family. IPv6 blocks are kept by their top 64 bits: RIRs never delegate longer
than /64 in these files (a longer one is widened to its /64 with a warning).
"""

from __future__ import annotations

import ipaddress
import re
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from pathlib import Path

import numpy as np
import polars as pl

from hostwatch.net.addresses import FAMILY_V4, FAMILY_V6, as_address_array, parse_addresses
from hostwatch.net.compressed import iter_lines, open_text
from hostwatch.net.load_warnings import WarningLog

REGISTRIES = ("afrinic", "apnic", "arin", "lacnic", "ripencc")
_STATUS_RANK = {"allocated": 3, "assigned": 3, "reserved": 1, "available": 0}
_ROW_SCHEMA = {
    "start": pl.UInt64,
    "end": pl.UInt64,
    "registry": pl.String,
    "cc": pl.String,
    "status": pl.String,
    "day": pl.Int32,
    "opaque_id": pl.String,
    "source": pl.String,
    "number": pl.UInt32,
}
_FILE_DATE = re.compile(r"(\d{8})")
NOT_FOUND = -1


@dataclass(frozen=True, slots=True)
class DelegatedFile:
    """One statistics file: which RIR, which day it describes, and where it came from."""

    registry: str
    day: date
    path: str


@dataclass(frozen=True, slots=True)
class Delegation:
    """One delegated block or ASN range."""

    registry: str
    country: str
    kind: str
    first: int
    last: int
    day: date | None
    status: str
    opaque_id: str


class DelegationMatches:
    """Per looked-up item, in input order: the delegation it falls in.

    ``row`` is the index in its family's table (-1: no delegation). The other columns are
    gathered on first access, so a caller that needs only the country pays for one gather.
    """

    def __init__(self, row: np.ndarray, parts: list[tuple[np.ndarray | None, _Blocks, np.ndarray]]):
        self.row = row
        self._parts = parts

    @property
    def found(self) -> np.ndarray:
        return self.row >= 0

    def __len__(self) -> int:
        return len(self.row)

    @cached_property
    def registry(self) -> np.ndarray:
        return self._gather("registry")

    @cached_property
    def country(self) -> np.ndarray:
        return self._gather("country")

    @cached_property
    def status(self) -> np.ndarray:
        return self._gather("status")

    @cached_property
    def day(self) -> np.ndarray:
        """Delegation day as an integer YYYYMMDD (0: none or not stated)."""
        return self._gather("day")

    @cached_property
    def opaque_id(self) -> np.ndarray:
        return self._gather("opaque_id")

    def _gather(self, name: str) -> np.ndarray:
        if len(self._parts) == 1 and self._parts[0][0] is None:
            _, blocks, take = self._parts[0]
            return getattr(blocks, name)[take]
        first = getattr(self._parts[0][1], name)
        out = np.empty(len(self.row), dtype=first.dtype)
        for mask, blocks, take in self._parts:
            out[mask] = getattr(blocks, name)[take]
        return out


@dataclass
class _Blocks:
    """One family's delegations as parallel arrays sorted by start, disjoint.

    The attribute columns carry one extra last slot, the "no delegation" answer, so a lookup is
    a single gather with no masking afterwards.
    """

    start: np.ndarray
    end: np.ndarray
    registry: np.ndarray
    country: np.ndarray
    status: np.ndarray
    day: np.ndarray
    opaque_id: np.ndarray

    def match(self, values: np.ndarray) -> DelegationMatches:
        values = np.asarray(values, dtype=np.uint64)
        idx = self._search(values) - 1
        safe = np.clip(idx, 0, max(len(self.start) - 1, 0))
        if len(self.start):
            hit = (idx >= 0) & (values <= self.end[safe])
        else:
            hit = np.zeros(len(values), dtype=bool)
        return DelegationMatches(np.where(hit, idx, NOT_FOUND), [(None, self, self.take(hit, idx))])

    def _search(self, values: np.ndarray) -> np.ndarray:
        """``searchsorted(start, values, 'right')``, faster for many 32-bit keys.

        Random keys make every binary search miss the cache. Packed as key<<32 | position, a
        million keys sort in milliseconds, the search over sorted keys walks memory in order,
        and one scatter restores input order: about twice as fast overall.
        """
        n = len(values)
        if n < 1 << 16 or n >= 1 << 32 or int(values.max()) >= 1 << 32:
            return np.searchsorted(self.start, values, side="right").astype(np.int64)
        packed = (values << np.uint64(32)) | np.arange(n, dtype=np.uint64)
        packed.sort()
        out = np.empty(n, dtype=np.int64)
        position = (packed & np.uint64(0xFFFFFFFF)).astype(np.intp)
        out[position] = np.searchsorted(self.start, packed >> np.uint64(32), side="right")
        return out

    def take(self, hit: np.ndarray, idx: np.ndarray) -> np.ndarray:
        """Gather positions: the row, or the extra last slot that answers "none"."""
        return np.where(hit, idx, len(self.start))

    def record(self, row: int, kind: str) -> Delegation:
        day = int(self.day[row])
        return Delegation(
            registry=str(self.registry[row]),
            country=str(self.country[row]),
            kind=kind,
            first=int(self.start[row]),
            last=int(self.end[row]),
            day=_to_date(day),
            status=str(self.status[row]),
            opaque_id=str(self.opaque_id[row]),
        )


@dataclass
class DelegatedStats:
    """The delegations of several RIRs combined, one file per RIR (the newest not after a date)."""

    files: tuple[DelegatedFile, ...]
    ipv4: _Blocks
    ipv6: _Blocks
    asn: _Blocks
    warnings: WarningLog = field(default_factory=WarningLog)
    skipped_files: tuple[DelegatedFile, ...] = ()

    @classmethod
    def load(cls, paths: Iterable[Path | str], as_of: date | None = None) -> DelegatedStats:
        """Read delegated-extended files; per RIR the newest not after ``as_of`` is used."""
        warnings = WarningLog()
        chosen, skipped = choose_files(paths, as_of, warnings)
        columns: dict[str, _Columns] = {kind: _Columns() for kind in ("ipv4", "ipv6", "asn")}
        for header in chosen:
            _read_rows(header, columns, warnings)
        return cls(
            files=chosen,
            ipv4=columns["ipv4"].freeze("ipv4", warnings),
            ipv6=columns["ipv6"].freeze("ipv6", warnings),
            asn=columns["asn"].freeze("asn", warnings),
            warnings=warnings,
            skipped_files=tuple(skipped),
        )

    def lookup_v4(self, addresses: np.ndarray) -> DelegationMatches:
        """IPv4 addresses as unsigned integers (uint32 array)."""
        return self.ipv4.match(addresses)

    def lookup_v6(self, high64: np.ndarray) -> DelegationMatches:
        """IPv6 addresses by their top 64 bits (uint64 array)."""
        return self.ipv6.match(high64)

    def lookup(self, addresses: object) -> DelegationMatches:
        """Addresses in any form :func:`as_address_array` takes (strings of either family, uint32
        or IPv6 arrays, an AddressArray), answered in input order; malformed ones match nothing.
        """
        parsed = as_address_array(addresses)
        is_v4 = parsed.family == FAMILY_V4
        if is_v4.all():
            return self.ipv4.match(parsed.v4)
        is_v6 = parsed.family == FAMILY_V6
        neither = ~(is_v4 | is_v6)
        row = np.full(len(parsed), NOT_FOUND, dtype=np.int64)
        parts: list[tuple[np.ndarray | None, _Blocks, np.ndarray]] = []
        for mask, blocks, values in (
            (is_v4, self.ipv4, parsed.v4[is_v4]),
            (is_v6, self.ipv6, parsed.v6[is_v6, 0]),
        ):
            found = blocks.match(values)
            row[mask] = found.row
            parts.append((mask, blocks, found._parts[0][2]))
        parts.append((neither, self.ipv4, np.full(int(neither.sum()), len(self.ipv4.start))))
        return DelegationMatches(row, parts)

    def lookup_asns(self, asns: np.ndarray | Sequence[int]) -> DelegationMatches:
        return self.asn.match(np.asarray(asns, dtype=np.uint64))

    def for_ip(self, address: str) -> Delegation | None:
        """The delegation holding one address, as a record (None: none, or not an address)."""
        try:
            ip = ipaddress.ip_address(address.strip())
        except ValueError:
            return None
        blocks = self.ipv6 if ip.version == 6 else self.ipv4
        value = int(ip) >> 64 if ip.version == 6 else int(ip)
        row = int(blocks.match(np.array([value], dtype=np.uint64)).row[0])
        return blocks.record(row, f"ipv{ip.version}") if row >= 0 else None

    def for_asn(self, asn: int) -> Delegation | None:
        row = int(self.asn.match(np.array([asn], dtype=np.uint64)).row[0])
        return self.asn.record(row, "asn") if row >= 0 else None

    def asns_of(self, registry: str, opaque_id: str) -> tuple[int, ...]:
        """Every ASN one organisation holds in one RIR (same opaque id): sibling candidates."""
        if not opaque_id:
            return ()
        rows = np.flatnonzero((self.asn.registry == registry) & (self.asn.opaque_id == opaque_id))
        out: list[int] = []
        for row in rows:
            out.extend(range(int(self.asn.start[row]), int(self.asn.end[row]) + 1))
        return tuple(out)


def choose_files(
    paths: Iterable[Path | str], as_of: date | None = None, warnings: WarningLog | None = None
) -> tuple[tuple[DelegatedFile, ...], tuple[DelegatedFile, ...]]:
    """Which files a snapshot at ``as_of`` uses (newest per RIR not after it) and which it skips.

    Only the version lines are read, so this is cheap enough to say "which snapshot" up front.
    """
    warnings = warnings if warnings is not None else WarningLog()
    headers = []
    for path in map(Path, paths):
        header = _read_header(path, warnings)
        if header is not None:
            headers.append(header)
    chosen: dict[str, DelegatedFile] = {}
    skipped = []
    for header in sorted(headers, key=lambda h: h.day):
        if as_of is not None and header.day > as_of:
            skipped.append(header)
            continue
        if header.registry in chosen:
            skipped.append(chosen[header.registry])
        chosen[header.registry] = header
    return tuple(sorted(chosen.values(), key=lambda h: h.registry)), tuple(skipped)


class _Columns:
    """Rows of one family gathered from several files, before sorting."""

    def __init__(self) -> None:
        self.frames: list[pl.DataFrame] = []

    def freeze(self, kind: str, warnings: WarningLog) -> _Blocks:
        rows = pl.concat(self.frames) if self.frames else pl.DataFrame(schema=_ROW_SCHEMA)
        rows = rows.sort(["start", "end"], descending=[False, True])
        start = rows["start"].to_numpy().astype(np.uint64)
        end = rows["end"].to_numpy().astype(np.uint64)
        status = rows["status"].to_list()
        keep = _drop_overlaps(start, end, status)
        if not keep.all():
            dropped = rows.filter(pl.Series(~keep))
            for source, line in zip(dropped["source"], dropped["number"], strict=True):
                warnings.add(source, line, f"{kind} block overlaps an earlier one; dropped")
            rows = rows.filter(pl.Series(keep))
        return _Blocks(
            start=start[keep],
            end=end[keep],
            registry=_with_none(rows["registry"].to_numpy().astype(object), ""),
            country=_with_none(rows["cc"].to_numpy().astype("<U2"), ""),
            status=_with_none(rows["status"].to_numpy().astype(object), ""),
            day=_with_none(rows["day"].to_numpy().astype(np.int32), 0),
            opaque_id=_with_none(rows["opaque_id"].to_numpy().astype(object), ""),
        )


def _drop_overlaps(start: np.ndarray, end: np.ndarray, status: list[str]) -> np.ndarray:
    """Keep a disjoint set: on overlap the delegated block beats reserved/available ones."""
    keep = np.ones(len(start), dtype=bool)
    if len(start) < 2:
        return keep
    running_end = np.maximum.accumulate(end)
    clash = np.flatnonzero(start[1:] <= running_end[:-1]) + 1
    if clash.size == 0:
        return keep
    last = -1
    for i in range(len(start)):
        if last >= 0 and start[i] <= end[last]:
            if _STATUS_RANK.get(status[i], 0) > _STATUS_RANK.get(status[last], 0):
                keep[last] = False
                last = i
            else:
                keep[i] = False
            continue
        last = i
    return keep


def _read_header(path: Path, warnings: WarningLog) -> DelegatedFile | None:
    try:
        with open_text(path) as handle:
            for number, line in enumerate(_until_break(handle), start=1):
                if not line.strip() or line.startswith("#"):
                    continue
                parts = line.rstrip("\n").split("|")
                if len(parts) >= 6 and parts[1].lower() in REGISTRIES:
                    day = _to_date(_int(parts[5])) or _to_date(_int(parts[2]))
                    if day is None:
                        match = _FILE_DATE.search(path.name)
                        day = _to_date(int(match.group(1))) if match else None
                    if day is None:
                        warnings.add(str(path), number, "no date in version line or file name")
                        return None
                    return DelegatedFile(parts[1].lower(), day, str(path))
                warnings.add(str(path), number, "not a delegated-extended version line; skipped")
                return None
    except (OSError, EOFError) as exc:
        warnings.add(str(path), None, f"cannot read: {exc}")
    return None


def _until_break(handle: Iterable[str]) -> Iterator[str]:
    """The header is in the first lines; a break further on is reported when rows are read."""
    try:
        yield from handle
    except (OSError, EOFError):
        return


def _read_rows(header: DelegatedFile, columns: dict[str, _Columns], warnings: WarningLog) -> None:
    """Split a file into typed rows per family, column-wise; bad rows are reported by line.

    One lazy query types the whole file and one partition splits it by family: few passes, as
    each eager step would be a pass of its own.
    """
    source = header.path
    lines = _all_lines(source, warnings)
    fields = pl.col("line").str.count_matches("|", literal=True) + 1
    frame = (
        pl.DataFrame({"line": pl.Series(lines, dtype=pl.String)})
        .lazy()
        .with_row_index("number", offset=1)
        .filter(~pl.col("line").str.starts_with("#") & (pl.col("line").str.strip_chars() != ""))
        .slice(1)  # the version line
        .with_columns(
            fields.alias("fields"),
            pl.col("line")
            .str.split_exact("|", 7)
            .struct.rename_fields([f"f{i}" for i in range(8)])
            .alias("parts"),
        )
        .unnest("parts")
        .filter((pl.col("f1").fill_null("") != "*") & (pl.col("f5").fill_null("") != "summary"))
        .with_columns(
            pl.when(pl.col("fields") < 7)
            .then(pl.lit("short"))
            .otherwise(pl.col("f2").str.to_lowercase())
            .alias("kind"),
            pl.col("f0").str.to_lowercase().alias("registry"),
            pl.col("f1").str.to_uppercase().str.slice(0, 2).fill_null("").alias("cc"),
            pl.col("f4").cast(pl.Int64, strict=False).alias("value"),
            pl.col("f5").cast(pl.Int32, strict=False).fill_null(0).alias("day"),
            pl.col("f6").str.to_lowercase().alias("status"),
            pl.col("f7").fill_null("").alias("opaque_id"),
            pl.lit(source).alias("source"),
        )
        .drop("line")
        .collect()
    )
    parts = frame.partition_by("kind", as_dict=True, include_key=False)
    for (kind,), rows in parts.items():
        if kind == "short":
            for number, count in zip(rows["number"], rows["fields"], strict=True):
                warnings.add(source, number, f"{count} fields, expected at least 7")
        elif kind not in columns:
            for number in rows["number"]:
                warnings.add(source, number, f"unknown type {kind!r}")
    for kind, target in columns.items():
        rows = parts.get((kind,))
        if rows is None:
            continue
        spans = _spans(kind, rows)
        bad = rows.filter(spans["start"].is_null())
        for number, start, value in zip(bad["number"], bad["f3"], bad["f4"], strict=True):
            warnings.add(source, number, f"bad {kind} block {start}|{value}")
        if kind == "ipv6":
            long = rows.filter(pl.col("value") > 64)
            for number, value in zip(long["number"], long["value"], strict=True):
                warnings.add(source, number, f"IPv6 /{value} widened to its /64")
        rows = rows.with_columns(spans["start"], spans["end"]).filter(pl.col("start").is_not_null())
        target.frames.append(rows.select(list(_ROW_SCHEMA)).cast(_ROW_SCHEMA))


def _spans(kind: str, rows: pl.DataFrame) -> pl.DataFrame:
    """First and last value of each row's block (null when the row is malformed), vectorised."""
    value = rows["value"].fill_null(0).to_numpy().astype(np.int64)
    if kind == "asn":
        numbers = rows["f3"].cast(pl.Int64, strict=False)
        valid = numbers.is_not_null().to_numpy() & (numbers.fill_null(-1).to_numpy() >= 0)
        start = numbers.fill_null(0).to_numpy().astype(np.uint64)
    else:
        parsed = parse_addresses(rows["f3"].fill_null("").to_list())
        if kind == "ipv4":
            valid = parsed.family == FAMILY_V4
            start = parsed.v4.astype(np.uint64)
        else:
            valid = parsed.family == FAMILY_V6
            start = parsed.v6[:, 0].astype(np.uint64)
    valid &= value > 0
    if kind == "ipv6":
        valid &= value <= 128
        width = np.clip(64 - value, 0, 63).astype(np.uint64)
        size = np.left_shift(np.uint64(1), width)
    else:
        size = np.clip(value, 0, 2**32).astype(np.uint64)
        valid &= start + size <= 2**32
    end = start + size - np.uint64(1)
    return pl.DataFrame(
        {
            "start": pl.Series(start, dtype=pl.UInt64).set(pl.Series(~valid), None),
            "end": pl.Series(end, dtype=pl.UInt64).set(pl.Series(~valid), None),
        }
    )


def _all_lines(source: str, warnings: WarningLog) -> list[str]:
    """All lines at once (fast); on a damaged stream, again line by line up to the break."""
    try:
        with open_text(source) as handle:
            return handle.read().splitlines()
    except (EOFError, OSError, zlib.error):
        pass
    return [
        line.rstrip("\n")
        for line in iter_lines(source, lambda n, why: warnings.add(source, n, why))
    ]


def _int(text: str) -> int:
    text = text.strip()
    return int(text) if text.isdigit() else 0


def _to_date(yyyymmdd: int) -> date | None:
    try:
        return date(yyyymmdd // 10000, yyyymmdd // 100 % 100, yyyymmdd % 100)
    except ValueError:
        return None


def _with_none(column: np.ndarray, empty: object) -> np.ndarray:
    return np.concatenate([column, np.array([empty], dtype=column.dtype)])
