"""Where each array of a stored routing table lies in its file, read with the standard library.

A stored table (:mod:`.store`) is NumPy's ``.npz``: an uncompressed zip of ``.npy`` members. Where
a member's bytes lie needs no NumPy: the zip directory gives the member's local header, and the
``.npy`` header (a Python literal) gives its dtype and shape. :mod:`.store` wraps each span as a
NumPy view of one ``mmap``; :mod:`.mapped` as a ``memoryview`` of it, so that a lookup of a few
addresses imports no NumPy at all (its import alone costs what a whole pyasn lookup costs). Both
read the file through this module, so its layout is known in one place.
"""

from __future__ import annotations

import ast
import json
import mmap
import re
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

KIND = "hostwatch-routing-table"
STORED_FORMAT = "hostwatch-npz"
VERSION = 3
ROUTE_FIELDS = (
    "v4_network",
    "v4_length",
    "v6_network",
    "v6_length",
    "origin",
    "origin_offsets",
    "origin_values",
)
RUNS_FIELDS = ("v4_run_starts", "v4_run_values", "v4_level2")
INTERVAL_FIELDS = ("starts", "codes", "deep", "long_hi", "long_lo", "long_len", "long_code")
_LOCAL_HEADER = struct.Struct("<4s22sHH")  # signature, fixed fields, name length, extra length
_NPY_MAGIC = b"\x93NUMPY"
_DESCR = re.compile(r"^[<>|=]([uifb])(\d+)$")


class StoredTableError(ValueError):
    """A file that should be a stored table and is not usable as one (damaged, old version)."""


@dataclass(frozen=True, slots=True)
class Member:
    """One array: dtype text as NumPy writes it (``'<u4'``), shape, and its data bytes' offset."""

    descr: str
    shape: tuple[int, ...]
    offset: int

    @property
    def count(self) -> int:
        count = 1
        for size in self.shape:
            count *= size
        return count

    @property
    def itemsize(self) -> int:
        return int(_DESCR.match(self.descr).group(2))  # type: ignore[union-attr]  # checked


@dataclass(frozen=True, slots=True)
class StoredFile:
    """A stored table opened as one read-only memory map, its members and its metadata."""

    path: Path
    mapped: mmap.mmap
    members: dict[str, Member]
    meta: dict[str, Any]

    def check(self) -> None:
        """Raise :class:`StoredTableError` unless this is a whole table of the current version."""
        meta = self.meta
        if meta.get("kind") != KIND or meta.get("version") != VERSION:
            raise StoredTableError(
                f"{self.path}: a stored routing table of another version ({meta.get('version')}, "
                f"this hostwatch reads {VERSION}); import the source file again"
            )
        missing = [name for name in (*ROUTE_FIELDS, *RUNS_FIELDS) if name not in self.members]
        if missing:
            raise StoredTableError(f"{self.path}: damaged stored table (no {', '.join(missing)})")


def is_stored_table(path: Path) -> bool:
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as archive:
        return "meta.npy" in archive.namelist()


def open_stored(path: Path) -> StoredFile:
    """Map the file and locate every member; nothing but the headers is read."""
    try:
        with path.open("rb") as handle:
            mapped = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
        members = {}
        for info in infos:
            if info.compress_type != zipfile.ZIP_STORED or not info.filename.endswith(".npy"):
                raise StoredTableError(f"{path}: member {info.filename} is compressed")
            members[info.filename[:-4]] = _member_at(mapped, info)
        meta = _meta(mapped, members.get("meta"))
    except (OSError, ValueError, SyntaxError, zipfile.BadZipFile, struct.error) as exc:
        if isinstance(exc, StoredTableError):
            raise
        raise StoredTableError(f"{path}: damaged stored table ({exc})") from exc
    return StoredFile(path, mapped, members, meta)


def _member_at(mapped: mmap.mmap, info: zipfile.ZipInfo) -> Member:
    signature, _, name_length, extra_length = _LOCAL_HEADER.unpack_from(mapped, info.header_offset)
    if signature != b"PK\x03\x04":
        raise StoredTableError(f"member {info.filename}: no local header")
    start = info.header_offset + _LOCAL_HEADER.size + name_length + extra_length
    if mapped[start : start + 6] != _NPY_MAGIC:
        raise StoredTableError(f"member {info.filename}: not a .npy array")
    major = mapped[start + 6]
    if major == 1:
        (length,) = struct.unpack_from("<H", mapped, start + 8)
        body = start + 10
    else:
        (length,) = struct.unpack_from("<I", mapped, start + 8)
        body = start + 12
    header = ast.literal_eval(mapped[body : body + length].decode("latin1"))
    descr, shape = header.get("descr"), header.get("shape")
    if (
        not isinstance(descr, str)
        or not _DESCR.match(descr)
        or header.get("fortran_order")
        or not isinstance(shape, tuple)
    ):
        raise StoredTableError(f"member {info.filename}: not a plain C-order array")
    member = Member(descr, tuple(int(size) for size in shape), body + length)
    if body + length - start + member.count * member.itemsize > info.file_size:
        raise StoredTableError(f"member {info.filename}: shorter than its header says")
    return member


def _meta(mapped: mmap.mmap, member: Member | None) -> dict[str, Any]:
    if member is None:
        return {}
    return dict(json.loads(mapped[member.offset : member.offset + member.count]))
