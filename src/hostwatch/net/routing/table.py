"""A dated routing table: prefix -> origin AS(es), with longest-prefix match over arrays.

This is the object the rest of hostwatch uses: ``RoutingTable.load(path)`` reads any supported
format (or a stored snapshot), ``table.lookup(ips)`` answers a whole batch at once, and the table
says where it came from (``source``, ``sha256``, ``snapshot_date``) so that an attribution can name
the snapshot it used and be redone later.

``origin_asn`` is ``-1`` where no route covers an address (ASN 0 is reserved and never an origin).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from pathlib import Path

import numpy as np

from hostwatch.net.addresses import FAMILY_V4, FAMILY_V6, AddressArray, as_address_array
from hostwatch.net.routing.issues import LoadIssue
from hostwatch.net.routing.lpm4 import Dir24, Runs24
from hostwatch.net.routing.lpm6 import Intervals6
from hostwatch.net.routing.routes import RawRoutes, RouteArrays, build_routes, merge_routes

NO_ASN = -1
EXPAND_MIN = 1 << 16
"""IPv4 batches this long expand a stored table's runs into the 64 MB direct table; shorter ones
binary-search the (memory-mapped) runs, so one lookup reads a few pages instead of 64 MB."""


@dataclass(frozen=True)
class SnapshotInfo:
    """Where a table came from: enough to name it in an attribution and to find it again."""

    source: str
    sha256: str
    snapshot_date: datetime | None
    format: str


class RoutingTable:
    """Routes of one snapshot; IPv4 and IPv6 answered together, in input order."""

    def __init__(
        self,
        routes: RouteArrays,
        info: SnapshotInfo,
        warnings: list[LoadIssue] | None = None,
        *,
        dir24: Dir24 | None = None,
        runs24: Runs24 | None = None,
        intervals6: Intervals6 | None = None,
    ) -> None:
        self.routes = routes
        self.info = info
        self.warnings: list[LoadIssue] = list(warnings or [])
        self._dir24 = dir24
        self._runs24 = runs24
        self._intervals6 = intervals6

    # -- construction -------------------------------------------------------------------------
    @classmethod
    def load(
        cls, path: str | os.PathLike[str], *, snapshot_date: datetime | None = None
    ) -> RoutingTable:
        """Read a table, detecting its format; ``snapshot_date`` overrides the one in the name."""
        from hostwatch.net.routing.loaders import load_table

        return load_table(Path(path), snapshot_date=snapshot_date)

    @classmethod
    def from_pairs(
        cls,
        prefixes: Sequence[str],
        asns: Sequence[int | Sequence[int]],
        *,
        source: str = "<pairs>",
        snapshot_date: datetime | None = None,
    ) -> RoutingTable:
        """Build from ``prefix`` strings and origins (an int, or a sequence of ints for MOAS)."""
        if len(prefixes) != len(asns):
            raise ValueError("prefixes and asns differ in length")
        raw = RawRoutes(source)
        for line, (prefix, asn) in enumerate(zip(prefixes, asns, strict=True), start=1):
            address, _, length = prefix.partition("/")
            origins = (int(asn),) if isinstance(asn, int | np.integer) else tuple(map(int, asn))
            raw.add(address, length, origins, line)
        routes, issues = build_routes(raw)
        return cls(routes, SnapshotInfo(source, "", snapshot_date, "pairs"), issues)

    @classmethod
    def merge(cls, tables: Sequence[RoutingTable]) -> RoutingTable:
        """One table from several (e.g. the IPv4 and IPv6 files of one snapshot).

        A prefix present in more than one keeps every origin; the first table's is primary.
        """
        if not tables:
            raise ValueError("nothing to merge")
        if len(tables) == 1:
            return tables[0]
        routes = merge_routes([t.routes for t in tables])
        digest = hashlib.sha256("".join(t.sha256 for t in tables).encode()).hexdigest()
        info = SnapshotInfo(
            " + ".join(t.source for t in tables), digest, tables[0].snapshot_date, "merged"
        )
        return cls(routes, info, [w for t in tables for w in t.warnings])

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Store as a binary snapshot that :meth:`load` reads back in well under a second."""
        from hostwatch.net.routing.store import save_table

        return save_table(self, Path(path))

    # -- metadata -----------------------------------------------------------------------------
    @property
    def source(self) -> str:
        return self.info.source

    @property
    def sha256(self) -> str:
        return self.info.sha256

    @property
    def snapshot_date(self) -> datetime | None:
        return self.info.snapshot_date

    @property
    def format(self) -> str:
        return self.info.format

    def __len__(self) -> int:
        return self.routes.count

    @property
    def ipv4_count(self) -> int:
        return int(self.routes.v4_length.size)

    @property
    def ipv6_count(self) -> int:
        return int(self.routes.v6_length.size)

    def __repr__(self) -> str:
        date = self.snapshot_date.isoformat() if self.snapshot_date else "undated"
        return (
            f"RoutingTable({self.source!r}, {date}, {self.ipv4_count} IPv4 + "
            f"{self.ipv6_count} IPv6 routes, {len(self.warnings)} warnings)"
        )

    # -- lookup -------------------------------------------------------------------------------
    @property
    def dir24(self) -> Dir24:
        if self._dir24 is None:
            if self._runs24 is not None:
                self._dir24 = self._runs24.expand()
            else:
                self._dir24 = Dir24.build(self.routes.v4_network, self.routes.v4_length)
        return self._dir24

    @property
    def runs24(self) -> Runs24:
        """The IPv4 structure in its stored form."""
        return self._runs24 if self._runs24 is not None else self.dir24.runs()

    def _lookup_v4(self, values: np.ndarray) -> np.ndarray:
        if self._dir24 is None and self._runs24 is not None and values.shape[0] < EXPAND_MIN:
            return self._runs24.lookup(values)
        return self.dir24.lookup(values)

    @property
    def intervals6(self) -> Intervals6:
        if self._intervals6 is None:
            net = self.routes.v6_network
            self._intervals6 = Intervals6.build(
                net[:, 0], net[:, 1], self.routes.v6_length, first_code=self.ipv4_count + 1
            )
        return self._intervals6

    def lookup(self, ips: object) -> LookupResult:
        """Longest-prefix match for a batch: strings (IPv4/IPv6 mixed) or parsed arrays.

        Malformed strings are not matched and are listed in ``result.malformed``.
        """
        addresses = as_address_array(ips)
        codes = self.route_codes(addresses)
        return LookupResult(self, addresses, codes, self.origin_of_codes(codes))

    def origin_of_codes(self, codes: np.ndarray) -> np.ndarray:
        """Primary origin AS per route code (-1 for code 0), reading only the rows asked for."""
        out = np.full(codes.shape[0], NO_ASN, np.int64)
        hit = np.flatnonzero(codes)
        out[hit] = self.routes.origin[codes[hit].astype(np.int64) - 1]
        return out

    def route_codes(self, addresses: AddressArray) -> np.ndarray:
        """``route + 1`` per address (0 = no route): the raw answer, before any decoration."""
        family = addresses.family
        n = family.shape[0]
        if n and _all(family, FAMILY_V4):
            return self._lookup_v4(addresses.v4)
        if n and self.ipv6_count and _all(family, FAMILY_V6):
            return self.intervals6.lookup(addresses.v6)
        codes = np.zeros(n, np.uint32)
        at4 = np.flatnonzero(family == FAMILY_V4)
        if at4.size:
            codes[at4] = self._lookup_v4(addresses.v4[at4])
        at6 = np.flatnonzero(family == FAMILY_V6)
        if at6.size and self.ipv6_count:
            codes[at6] = self.intervals6.lookup(addresses.v6[at6])
        return codes


def _all(family: np.ndarray, value: int) -> bool:
    return bool((family == value).all())


@dataclass
class LookupResult:
    """Answers for one batch, one element per input address, in input order.

    ``origin_asn`` is -1 where nothing matched; ``prefix`` and ``origins`` are built on first use
    (a million prefix strings cost more than the lookup itself).
    """

    table: RoutingTable
    addresses: AddressArray
    codes: np.ndarray
    origin_asn: np.ndarray
    _cache: dict[str, object] = field(default_factory=dict, repr=False)

    def __len__(self) -> int:
        return int(self.codes.shape[0])

    @property
    def matched(self) -> np.ndarray:
        return self.codes != 0

    @property
    def route(self) -> np.ndarray:
        """Route number per address in ``table.routes`` (-1 where nothing matched)."""
        return self.codes.astype(np.int64) - 1

    @property
    def malformed(self) -> list[tuple[int, str]]:
        """``(position, text)`` of inputs that are not IP addresses."""
        return self.addresses.malformed

    @cached_property
    def prefix(self) -> np.ndarray:
        """Matched prefix text per address (object array; None where nothing matched)."""
        out = np.full(len(self), None, dtype=object)
        hit = np.flatnonzero(self.codes)
        if hit.size:
            routes, inverse = np.unique(self.codes[hit].astype(np.int64) - 1, return_inverse=True)
            texts = np.array(self.table.routes.prefix_texts(routes), dtype=object)
            out[hit] = texts[inverse]
        return out

    @cached_property
    def prefix_length(self) -> np.ndarray:
        """Matched prefix length (-1 where nothing matched)."""
        routes = self.table.routes
        lengths = np.concatenate(
            [np.array([-1]), routes.v4_length.astype(np.int16), routes.v6_length.astype(np.int16)]
        )
        return lengths[self.codes]

    @cached_property
    def origins(self) -> list[tuple[int, ...]]:
        """All origins of the matched prefix (MOAS), primary first; empty where nothing matched."""
        routes = self.table.routes
        out: list[tuple[int, ...]] = [()] * len(self)
        offsets = routes.origin_offsets
        hit = np.flatnonzero(self.codes)
        route = self.codes[hit].astype(np.int64) - 1
        multi = (offsets[route + 1] - offsets[route]) > 1
        for i, asn in zip(hit[~multi].tolist(), self.origin_asn[hit[~multi]].tolist(), strict=True):
            out[i] = (asn,)
        for i, r in zip(hit[multi].tolist(), route[multi].tolist(), strict=True):
            out[i] = routes.origins_of(r)
        return out

    @property
    def family(self) -> np.ndarray:
        """4, 6, or 0 for a malformed input."""
        return self.addresses.family

    def texts(self) -> list[str | None]:
        """Canonical text of each input address (None where malformed)."""
        return self.addresses.to_text()
