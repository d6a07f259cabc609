"""Reading a source file whole: decompressed (gzip, bzip2 or plain), hashed, truncation-tolerant.

Archived RIB dumps are often cut short (interrupted downloads, the first-MB samples in the test
data). The stream decompressors give back everything before the break, and the caller is told
that the file ended early instead of losing the whole snapshot.
"""

from __future__ import annotations

import bz2
import hashlib
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

_GZIP = b"\x1f\x8b"
_BZIP2 = b"BZh"
_CHUNK = 1 << 20


class _Decompressor(Protocol):
    eof: bool
    unused_data: bytes

    def decompress(self, data: bytes, max_length: int = -1) -> bytes: ...


def _new_decompressor(kind: str) -> _Decompressor:
    if kind == "gzip":
        return zlib.decompressobj(16 + zlib.MAX_WBITS)
    return bz2.BZ2Decompressor()


@dataclass(frozen=True)
class SourceBytes:
    path: Path
    data: bytes
    sha256: str
    compression: str
    truncated: bool


def read_source(path: Path) -> SourceBytes:
    raw = path.read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    if raw.startswith(_GZIP):
        data, truncated = _inflate(raw, "gzip")
        return SourceBytes(path, data, digest, "gzip", truncated)
    if raw.startswith(_BZIP2):
        data, truncated = _inflate(raw, "bzip2")
        return SourceBytes(path, data, digest, "bzip2", truncated)
    return SourceBytes(path, raw, digest, "none", False)


def read_head(path: Path, size: int = 65536) -> bytes:
    """The first ``size`` decompressed bytes (enough to recognise a format), b"" if unreadable.

    bzip2 gives nothing until a whole block (up to 900 kB) is in, so input is fed until output.
    """
    with path.open("rb") as handle:
        start = handle.read(len(_GZIP) + 1)
        handle.seek(0)
        if start.startswith(_GZIP):
            decompressor = _new_decompressor("gzip")
        elif start.startswith(_BZIP2):
            decompressor = _new_decompressor("bzip2")
        else:
            return handle.read(size)
        out = b""
        try:
            while len(out) < size and not decompressor.eof:
                chunk = handle.read(_CHUNK)
                if not chunk:
                    break
                out += decompressor.decompress(chunk)
        except (OSError, EOFError, zlib.error, ValueError):
            return out[:size]
        return out[:size]


def _inflate(raw: bytes, kind: str) -> tuple[bytes, bool]:
    """Decompress concatenated members; stop at a corrupt or missing end, keeping what came out."""
    parts: list[bytes] = []
    rest = raw
    while rest:
        decompressor = _new_decompressor(kind)
        pos = 0
        try:
            while pos < len(rest) and not decompressor.eof:
                parts.append(decompressor.decompress(rest[pos : pos + _CHUNK]))
                pos += _CHUNK
        except (OSError, EOFError, zlib.error, ValueError):
            return b"".join(parts), True
        if not decompressor.eof:
            return b"".join(parts), True
        rest = decompressor.unused_data + rest[pos:]
        if not rest.strip(b"\0"):
            break
    return b"".join(parts), False
