"""The stored binary form of a routing table: one uncompressed ``.npz`` file, memory-mapped.

Reading a text table takes seconds and hundreds of MB; a lookup of one address must not pay for
that, nor for reading a stored copy whole. The file is NumPy's own ``.npz`` (a zip of ``.npy``
arrays, written uncompressed), so each array lies as plain bytes at a known offset and is opened
as a read-only view of one ``mmap`` of the file: loading takes milliseconds, and only the pages a
lookup touches are ever read. The IPv4 first level is stored as runs (:class:`Runs24`), the IPv6
intervals as they are, and the metadata (source, sha256, snapshot date, format, load warnings) as
JSON in the same file. Where each array lies is read by :mod:`.stored_file`, which needs no NumPy
(:mod:`.mapped` answers a few addresses from the same file without it).
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import numpy as np

from hostwatch.net.routing.issues import LoadIssue
from hostwatch.net.routing.lpm4 import Runs24
from hostwatch.net.routing.lpm6 import Intervals6
from hostwatch.net.routing.routes import RouteArrays
from hostwatch.net.routing.stored_file import (
    INTERVAL_FIELDS,
    KIND,
    ROUTE_FIELDS,
    STORED_FORMAT,
    VERSION,
    StoredTableError,
    is_stored_table,
    open_stored,
)
from hostwatch.net.routing.table import RoutingTable, SnapshotInfo

__all__ = [
    "STORED_FORMAT",
    "StoredTableError",
    "is_stored_table",
    "load_stored",
    "save_table",
    "stored_date",
    "stored_format",
]


def save_table(table: RoutingTable, path: Path) -> Path:
    """Write the table; the file appears whole (written beside it, then renamed)."""
    if path.suffix != ".npz":
        path = path.with_name(path.name + ".npz")
    meta = {
        "kind": KIND,
        "version": VERSION,
        "source": table.source,
        "sha256": table.sha256,
        "snapshot_date": table.snapshot_date.isoformat() if table.snapshot_date else None,
        "format": table.format,
        "warnings": [list(w) for w in table.warnings],
    }
    arrays = {name: getattr(table.routes, name) for name in ROUTE_FIELDS}
    runs = table.runs24
    arrays["v4_run_starts"] = runs.starts
    arrays["v4_run_values"] = runs.values
    arrays["v4_level2"] = runs.level2
    for name in INTERVAL_FIELDS:
        arrays[f"v6_{name}"] = getattr(table.intervals6, name)
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("wb") as handle:
        np.savez(handle, **{name: np.ascontiguousarray(a) for name, a in arrays.items()})
    tmp.replace(path)
    return path


def stored_format(path: Path) -> str | None:
    """The source format a stored table records (None if ``path`` is no stored table)."""
    try:
        meta = open_stored(path).meta
    except StoredTableError:
        return None
    return str(meta["format"]) if meta.get("kind") == KIND else None


def stored_date(path: Path) -> datetime | None:
    """The snapshot date recorded in a stored table, without reading its arrays."""
    date = open_stored(path).meta.get("snapshot_date")
    return datetime.fromisoformat(date) if date else None


def load_stored(path: Path) -> RoutingTable:
    """Open a stored table as views of a memory map of the file (nothing is read up front)."""
    stored = open_stored(path)
    stored.check()
    arrays = {
        name: np.frombuffer(
            stored.mapped, dtype=np.dtype(m.descr), count=m.count, offset=m.offset
        ).reshape(m.shape)
        for name, m in stored.members.items()
    }
    meta = stored.meta
    routes = RouteArrays(**{name: arrays[name] for name in ROUTE_FIELDS})
    runs = Runs24(arrays["v4_run_starts"], arrays["v4_run_values"], arrays["v4_level2"])
    intervals6 = Intervals6(**{name: arrays[f"v6_{name}"] for name in INTERVAL_FIELDS})
    date = meta["snapshot_date"]
    info = SnapshotInfo(
        meta["source"],
        meta["sha256"],
        datetime.fromisoformat(date) if date else None,
        meta["format"],
    )
    warnings = [LoadIssue(str(f), int(n), str(r)) for f, n, r in meta["warnings"]]
    return RoutingTable(routes, info, warnings, runs24=runs, intervals6=intervals6)
