"""The stored binary form of a routing table: one uncompressed ``.npz`` file.

Reading text tables takes seconds; attributing a year of notices touches many snapshots, so each
is stored once as arrays and reloaded in a fraction of a second. The lookup structures are stored
too: the 64 MB first level of the IPv4 table as runs (it is mostly long runs of the same route),
expanded with one ``np.repeat`` on load; the IPv6 intervals as they are. Metadata (source, sha256,
snapshot date, format, load warnings) travels in the same file as JSON.
"""

from __future__ import annotations

import json
import zipfile
from datetime import datetime
from pathlib import Path

import numpy as np

from hostwatch.net.routing.issues import LoadIssue
from hostwatch.net.routing.lpm4 import Dir24
from hostwatch.net.routing.lpm6 import Intervals6
from hostwatch.net.routing.routes import RouteArrays
from hostwatch.net.routing.table import RoutingTable, SnapshotInfo

KIND = "hostwatch-routing-table"
STORED_FORMAT = "hostwatch-npz"
VERSION = 2
_ROUTE_FIELDS = (
    "v4_network",
    "v4_length",
    "v6_network",
    "v6_length",
    "origin",
    "origin_offsets",
    "origin_values",
)
_INTERVAL_FIELDS = ("starts", "codes", "deep", "long_hi", "long_lo", "long_len", "long_code")


def save_table(table: RoutingTable, path: Path) -> Path:
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
    arrays = {name: getattr(table.routes, name) for name in _ROUTE_FIELDS}
    level1 = table.dir24.level1
    change = np.flatnonzero(level1[1:] != level1[:-1]) + 1
    run_starts = np.concatenate([np.zeros(1, np.int64), change])
    arrays["dir24_run_starts"] = run_starts.astype(np.uint32)
    arrays["dir24_run_values"] = level1[run_starts]
    arrays["dir24_level2"] = table.dir24.level2
    for name in _INTERVAL_FIELDS:
        arrays[f"v6_{name}"] = getattr(table.intervals6, name)
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("wb") as handle:
        np.savez(handle, **arrays)
    tmp.replace(path)
    return path


def is_stored_table(path: Path) -> bool:
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as archive:
        return "meta.npy" in archive.namelist()


def stored_date(path: Path) -> datetime | None:
    """The snapshot date recorded in a stored table, without loading its arrays."""
    with np.load(path, allow_pickle=False) as stored:
        date = json.loads(stored["meta"].tobytes()).get("snapshot_date")
    return datetime.fromisoformat(date) if date else None


def load_stored(path: Path) -> RoutingTable:
    with np.load(path, allow_pickle=False) as stored:
        meta = json.loads(stored["meta"].tobytes())
        if meta.get("kind") != KIND or meta.get("version") != VERSION:
            raise ValueError(f"{path}: not a version {VERSION} hostwatch routing table")
        routes = RouteArrays(**{name: stored[name] for name in _ROUTE_FIELDS})
        run_starts = stored["dir24_run_starts"].astype(np.int64)
        runs = np.diff(np.append(run_starts, 1 << 24))
        level1 = np.repeat(stored["dir24_run_values"], runs)
        dir24 = Dir24(level1, stored["dir24_level2"])
        intervals6 = Intervals6(**{name: stored[f"v6_{name}"] for name in _INTERVAL_FIELDS})
    date = meta["snapshot_date"]
    info = SnapshotInfo(
        meta["source"],
        meta["sha256"],
        datetime.fromisoformat(date) if date else None,
        meta["format"],
    )
    warnings = [LoadIssue(str(f), int(n), str(r)) for f, n, r in meta["warnings"]]
    return RoutingTable(routes, info, warnings, dir24=dir24, intervals6=intervals6)
