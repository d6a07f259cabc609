"""Reading routing tables in the formats found in the wild, detected from the content.

Detection looks at the bytes, not the file name (names lie, archives get renamed): a stored
snapshot, then MRT by its record header, then the text formats by their first data line.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

from hostwatch.net.routing.issues import LoadIssue
from hostwatch.net.routing.routes import RawRoutes, build_routes
from hostwatch.net.routing.snapshots import date_from_name
from hostwatch.net.routing.table import RoutingTable, SnapshotInfo

from . import mrt, pfx2as, pyasn_dat, ranges, tsv
from .source import read_head, read_source

_PREFIX = re.compile(r"^[0-9a-fA-F:.]+/\d{1,3}$")


class UnknownFormatError(ValueError):
    """The file is none of the routing-table formats hostwatch reads."""


def load_table(path: Path, *, snapshot_date: datetime | None = None) -> RoutingTable:
    from hostwatch.net.routing.store import StoredTableError, is_stored_table, load_stored

    if is_stored_table(path):
        return load_stored(path)
    with path.open("rb") as handle:
        if handle.read(4) == b"PK\x03\x04":
            raise StoredTableError(f"{path}: damaged stored table (the zip of arrays is not whole)")
    source = read_source(path)
    data = source.data
    fmt = detect_format(data)
    if fmt is None:
        raise UnknownFormatError(f"{path}: not a routing table format hostwatch knows")
    raw = RawRoutes(str(path))
    if source.truncated:
        raw.problem(
            0, f"{source.compression} stream ends early (truncated file); read up to the break"
        )
    reader = {
        mrt.FORMAT: mrt.read,
        pyasn_dat.FORMAT: pyasn_dat.read,
        pfx2as.FORMAT: pfx2as.read,
        ranges.FORMAT: ranges.read,
        tsv.FORMAT: tsv.read,
    }[fmt]
    reader(data, raw)
    routes, issues = build_routes(raw)
    when = snapshot_date or _date_of(path, fmt, data)
    info = SnapshotInfo(str(path), source.sha256, when, fmt)
    if not routes.count:
        issues.append(LoadIssue(str(path), 0, "no usable routes in the file"))
    return RoutingTable(routes, info, issues)


def sniff_format(path: Path) -> str | None:
    """The format of a file from its first bytes only, None if it is not a routing table."""
    from hostwatch.net.routing.store import STORED_FORMAT, is_stored_table

    if is_stored_table(path):
        return STORED_FORMAT
    return detect_format(read_head(path))


def detect_format(data: bytes) -> str | None:
    if mrt.looks_like(data):
        return mrt.FORMAT
    if data.startswith(pyasn_dat.MAGIC):
        return pyasn_dat.FORMAT
    seen = 0
    for line in data[:65536].decode("utf-8", "replace").splitlines()[:50]:
        stripped = line.strip()
        if not stripped or stripped[0] in "#;":
            continue
        seen += 1
        if ranges.looks_like(stripped):
            return ranges.FORMAT
        if pfx2as.looks_like(stripped):
            return pfx2as.FORMAT
        first = stripped.split("\t")[0] if "\t" in stripped else stripped.split()[0]
        if _PREFIX.match(first):
            return tsv.FORMAT
        if seen > 1:
            return None  # a header line may come first; the first data line decides
    return None


def _date_of(path: Path, fmt: str, data: bytes) -> datetime | None:
    when = date_from_name(path)
    if when is None and fmt == pyasn_dat.FORMAT:
        original = pyasn_dat.header_source(data)
        when = date_from_name(original) if original else None
    if when is None and fmt == mrt.FORMAT:
        when = mrt.first_timestamp(data)
    return when
