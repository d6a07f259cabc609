"""A few addresses answered from a stored table with the standard library alone (no NumPy).

``hostwatch lookup`` of one address after ``data import`` is a whole process, and NumPy's import
alone costs about a third of what pyasn needs to load a table and answer. A small batch therefore
reads the stored arrays as ``memoryview`` casts of the file's memory map and answers each address
with :func:`bisect.bisect_right` over the same sorted arrays the NumPy path searches
(:class:`.lpm4.Runs24` for IPv4, :class:`.lpm6.Intervals6` for IPv6): the same rules, so the same
answers (tests/net/routing/test_routing_mapped.py compares the two over many addresses). Large
batches, extra columns and text tables go through NumPy (:mod:`.lookup_csv` decides).
"""

from __future__ import annotations

import socket
import struct
import sys
from bisect import bisect_right
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from hostwatch.net.routing.issues import LoadIssue
from hostwatch.net.routing.stored_file import (
    INTERVAL_FIELDS,
    ROUTE_FIELDS,
    RUNS_FIELDS,
    Member,
    StoredFile,
    StoredTableError,
    is_stored_table,
    open_stored,
)

if TYPE_CHECKING:
    from hostwatch.net.routing.table import RoutingTable

_BLOCK_FLAG = 0x80000000  # lpm4._BLOCK_FLAG: a first-level entry that points to a /24 block
_LOW64 = (1 << 64) - 1
_FORMATS = {  # (kind, itemsize) of a little-endian .npy dtype -> memoryview format
    ("u", 1): "B",
    ("u", 2): "H",
    ("u", 4): "I",
    ("u", 8): "Q",
    ("i", 1): "b",
    ("i", 2): "h",
    ("i", 4): "i",
    ("i", 8): "q",
    ("b", 1): "?",
}

Address = tuple[int, int]
"""``(4, value)`` or ``(6, value)``: an address as an integer (IPv6: 128 bits)."""


def parse_address(text: str) -> Address | None:
    """An address as the NumPy parser reads it (``inet_pton``: strict dotted quads), or None."""
    for family, kind in ((socket.AF_INET, 4), (socket.AF_INET6, 6)):
        try:
            return kind, int.from_bytes(socket.inet_pton(family, text), "big")
        except (OSError, ValueError, TypeError):
            continue
    return None


@dataclass(frozen=True)
class MappedTable:
    """A stored table's arrays as memoryviews: route codes, prefix texts and origins per address.

    Codes are ``route + 1`` (0 = no route), numbered as in :class:`.routes.RouteArrays`.
    """

    stored: StoredFile
    warnings: list[LoadIssue]
    arrays: dict[str, memoryview]

    @property
    def path(self) -> Path:
        return self.stored.path

    def routing_table(self) -> RoutingTable:
        """The same file as a NumPy :class:`.table.RoutingTable`, for large batches."""
        from hostwatch.net.routing.store import load_stored

        return load_stored(self.path)

    def route_code(self, address: Address) -> int:
        """As :meth:`.table.RoutingTable.route_codes` for one address."""
        family, value = address
        a = self.arrays
        if family == 4:
            run = bisect_right(a["v4_run_starts"], value >> 8) - 1
            code = a["v4_run_values"][run]
            if code >= _BLOCK_FLAG and len(a["v4_level2"]):
                code = a["v4_level2"][(code & ~_BLOCK_FLAG) * 256 + (value & 0xFF)]
            return code
        if not len(a["v6_length"]):
            return 0
        hi, lo = value >> 64, value & _LOW64
        at = bisect_right(a["v6_starts"], hi) - 1
        code = a["v6_codes"][at]
        if len(a["v6_long_hi"]) and a["v6_deep"][at]:
            code = self._deep_code(hi, lo, code)
        return code

    def _deep_code(self, hi: int, lo: int, covering: int) -> int:
        """As :meth:`.lpm6.Intervals6._deep_lookup`: the longest route over /64 that holds the
        address (exact match of its masked low half), else the covering route.

        The long routes are sorted by length (longest first), then by network: one binary search
        per length.
        """
        a = self.arrays
        lengths, long_hi, long_lo = a["v6_long_len"], a["v6_long_hi"], a["v6_long_lo"]
        rows = range(len(lengths))
        start = 0
        while start < len(lengths):
            plen = lengths[start]
            end = bisect_right(rows, -plen, lo=start, key=lambda i: -lengths[i])
            mask = (_LOW64 << (128 - plen)) & _LOW64
            key = (hi, lo & mask)
            at = bisect_right(rows, key, lo=start, hi=end, key=lambda i: (long_hi[i], long_lo[i]))
            if at > start and (long_hi[at - 1], long_lo[at - 1]) == key:
                return a["v6_long_code"][at - 1]
            start = end
        return covering

    def prefix_text(self, code: int) -> str:
        """``network/length`` of the route with this (non-zero) code."""
        a = self.arrays
        route = code - 1
        n4 = len(a["v4_length"])
        if route < n4:
            network = socket.inet_ntoa(struct.pack(">I", a["v4_network"][route]))
            return f"{network}/{a['v4_length'][route]}"
        row = route - n4
        packed = struct.pack(">QQ", a["v6_network"][2 * row], a["v6_network"][2 * row + 1])
        return f"{socket.inet_ntop(socket.AF_INET6, packed)}/{a['v6_length'][row]}"

    def origin(self, code: int) -> int:
        """Primary origin AS of the route with this (non-zero) code."""
        return self.arrays["origin"][code - 1]


def open_mapped(path: Path) -> MappedTable | None:
    """The stored table at ``path`` as a :class:`MappedTable`; None for anything else.

    None also for a stored table that is damaged, of another version, or whose arrays this
    machine cannot view without NumPy: :meth:`.table.RoutingTable.load` then reads the file, and
    says what is wrong with it, in one place.
    """
    try:
        if not is_stored_table(path):
            return None
        stored = open_stored(path)
        stored.check()
    except (OSError, StoredTableError):
        return None
    wanted = (*ROUTE_FIELDS, *RUNS_FIELDS, *(f"v6_{name}" for name in INTERVAL_FIELDS))
    arrays = {}
    for name in wanted:
        member = stored.members.get(name)
        view = _view(stored, member) if member is not None else None
        if view is None:
            return None
        arrays[name] = view
    try:
        warnings = [LoadIssue(str(f), int(n), str(r)) for f, n, r in stored.meta["warnings"]]
    except (KeyError, TypeError, ValueError):
        return None
    return MappedTable(stored, warnings, arrays)


def _view(stored: StoredFile, member: Member) -> memoryview | None:
    """The member's values as a flat memoryview, if this machine reads its dtype natively."""
    order, kind = member.descr[0], member.descr[1]
    native = {"<": "little", ">": "big"}.get(order, sys.byteorder)
    fmt = _FORMATS.get((kind, member.itemsize))
    if fmt is None or native != sys.byteorder or struct.calcsize(fmt) != member.itemsize:
        return None
    end = member.offset + member.count * member.itemsize
    return memoryview(stored.mapped)[member.offset : end].cast(fmt)


@dataclass(frozen=True)
class SmallAnswers:
    """Per address: the matched prefix text and primary origin AS (None where nothing matched)."""

    prefix: list[str | None]
    origin_asn: list[int | None]
    malformed: list[tuple[int, str]]


def lookup_first_match_small(tables: list[MappedTable], texts: list[str]) -> SmallAnswers:
    """As :func:`.lookup_csv.lookup_first_match`: each address from the first table covering it."""
    n = len(texts)
    prefix: list[str | None] = [None] * n
    origin: list[int | None] = [None] * n
    malformed = []
    for i, text in enumerate(texts):
        address = parse_address(text)
        if address is None:
            malformed.append((i, text))
            continue
        for table in tables:
            code = table.route_code(address)
            if code:
                prefix[i] = table.prefix_text(code)
                origin[i] = table.origin(code)
                break
    return SmallAnswers(prefix, origin, malformed)
