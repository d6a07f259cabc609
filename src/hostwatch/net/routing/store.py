"""The stored binary form of a routing table: one uncompressed ``.npz`` file, memory-mapped.

Reading a text table takes seconds and hundreds of MB; a lookup of one address must not pay for
that, nor for reading a stored copy whole. The file is NumPy's own ``.npz`` (a zip of ``.npy``
arrays, written uncompressed), so each array lies as plain bytes at a known offset and is opened
as a read-only view of one ``mmap`` of the file: loading takes milliseconds, and only the pages a
lookup touches are ever read. The IPv4 first level is stored as runs (:class:`Runs24`), the IPv6
intervals as they are, and the metadata (source, sha256, snapshot date, format, load warnings) as
JSON in the same file.
"""

from __future__ import annotations

import io
import json
import mmap
import struct
import zipfile
from datetime import datetime
from pathlib import Path

import numpy as np

from hostwatch.net.routing.issues import LoadIssue
from hostwatch.net.routing.lpm4 import Runs24
from hostwatch.net.routing.lpm6 import Intervals6
from hostwatch.net.routing.routes import RouteArrays
from hostwatch.net.routing.table import RoutingTable, SnapshotInfo

KIND = "hostwatch-routing-table"
STORED_FORMAT = "hostwatch-npz"
VERSION = 3
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
_LOCAL_HEADER = struct.Struct("<4s22sHH")  # signature, fixed fields, name length, extra length


class StoredTableError(ValueError):
    """A file that should be a stored table and is not usable as one (damaged, old version)."""


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
    arrays = {name: getattr(table.routes, name) for name in _ROUTE_FIELDS}
    runs = table.runs24
    arrays["v4_run_starts"] = runs.starts
    arrays["v4_run_values"] = runs.values
    arrays["v4_level2"] = runs.level2
    for name in _INTERVAL_FIELDS:
        arrays[f"v6_{name}"] = getattr(table.intervals6, name)
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("wb") as handle:
        np.savez(handle, **{name: np.ascontiguousarray(a) for name, a in arrays.items()})
    tmp.replace(path)
    return path


def is_stored_table(path: Path) -> bool:
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as archive:
        return "meta.npy" in archive.namelist()


def stored_format(path: Path) -> str | None:
    """The source format a stored table records (None if ``path`` is no stored table)."""
    try:
        meta = _meta(_members(path))
    except StoredTableError:
        return None
    return str(meta["format"]) if meta.get("kind") == KIND else None


def stored_date(path: Path) -> datetime | None:
    """The snapshot date recorded in a stored table, without reading its arrays."""
    date = _meta(_members(path)).get("snapshot_date")
    return datetime.fromisoformat(date) if date else None


def load_stored(path: Path) -> RoutingTable:
    """Open a stored table as views of a memory map of the file (nothing is read up front)."""
    arrays = _members(path)
    meta = _meta(arrays)
    if meta.get("kind") != KIND or meta.get("version") != VERSION:
        raise StoredTableError(
            f"{path}: a stored routing table of another version ({meta.get('version')}, this "
            f"hostwatch reads {VERSION}); import the source file again"
        )
    missing = [
        name
        for name in (*_ROUTE_FIELDS, "v4_run_starts", "v4_run_values", "v4_level2")
        if name not in arrays
    ]
    if missing:
        raise StoredTableError(f"{path}: damaged stored table (no {', '.join(missing)})")
    routes = RouteArrays(**{name: arrays[name] for name in _ROUTE_FIELDS})
    runs = Runs24(arrays["v4_run_starts"], arrays["v4_run_values"], arrays["v4_level2"])
    intervals6 = Intervals6(**{name: arrays[f"v6_{name}"] for name in _INTERVAL_FIELDS})
    date = meta["snapshot_date"]
    info = SnapshotInfo(
        meta["source"],
        meta["sha256"],
        datetime.fromisoformat(date) if date else None,
        meta["format"],
    )
    warnings = [LoadIssue(str(f), int(n), str(r)) for f, n, r in meta["warnings"]]
    return RoutingTable(routes, info, warnings, runs24=runs, intervals6=intervals6)


def _meta(arrays: dict[str, np.ndarray]) -> dict[str, object]:
    if "meta" not in arrays:
        return {}
    return dict(json.loads(arrays["meta"].tobytes()))


def _members(path: Path) -> dict[str, np.ndarray]:
    """Each ``.npy`` member of an uncompressed ``.npz`` as a read-only view of one mmap."""
    try:
        with path.open("rb") as handle:
            mapped = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
        out = {}
        for info in infos:
            if info.compress_type != zipfile.ZIP_STORED or not info.filename.endswith(".npy"):
                raise StoredTableError(f"{path}: member {info.filename} is compressed")
            out[info.filename[:-4]] = _array_at(mapped, info)
        return out
    except (OSError, ValueError, zipfile.BadZipFile, struct.error) as exc:
        if isinstance(exc, StoredTableError):
            raise
        raise StoredTableError(f"{path}: damaged stored table ({exc})") from exc


def _array_at(mapped: mmap.mmap, info: zipfile.ZipInfo) -> np.ndarray:
    signature, _, name_length, extra_length = _LOCAL_HEADER.unpack_from(mapped, info.header_offset)
    if signature != b"PK\x03\x04":
        raise StoredTableError(f"member {info.filename}: no local header")
    start = info.header_offset + _LOCAL_HEADER.size + name_length + extra_length
    header = io.BytesIO(mapped[start : start + 4096])
    version = np.lib.format.read_magic(header)
    if version == (1, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_1_0(header)
    else:
        shape, fortran, dtype = np.lib.format.read_array_header_2_0(header)
    if fortran or dtype.hasobject:
        raise StoredTableError(f"member {info.filename}: not a plain C-order array")
    count = int(np.prod(shape, dtype=np.int64))
    if header.tell() + count * dtype.itemsize > info.file_size:
        raise StoredTableError(f"member {info.filename}: shorter than its header says")
    flat = np.frombuffer(mapped, dtype=dtype, count=count, offset=start + header.tell())
    return flat.reshape(shape)
