"""Open reference files whatever their compression, recognised by content rather than name.

Archives are renamed on the way (``-latest``, mirrors that drop suffixes), so the magic bytes are
the only reliable guide.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

_MAGIC = {b"\x1f\x8b": "gzip", b"BZh": "bzip2", b"\xfd7zXZ\x00": "xz"}


def compression_of(path: Path | str) -> str | None:
    """'gzip', 'bzip2', 'xz' or None for a plain file."""
    with open(path, "rb") as handle:
        head = handle.read(6)
    for magic, name in _MAGIC.items():
        if head.startswith(magic):
            return name
    return None


def open_binary(path: Path | str) -> IO[bytes]:
    """A binary stream of the decompressed content."""
    kind = compression_of(path)
    if kind == "gzip":
        return gzip.open(path, "rb")
    if kind == "bzip2":
        return bz2.open(path, "rb")
    if kind == "xz":
        return lzma.open(path, "rb")
    return open(path, "rb")


def open_text(path: Path | str) -> IO[str]:
    """A text stream of the decompressed content; undecodable bytes are replaced, not fatal.

    RIR files mix Latin-1 and UTF-8 names; one bad byte must not stop a load.
    """
    return io.TextIOWrapper(open_binary(path), encoding="utf-8", errors="replace", newline=None)


def iter_lines(
    path: Path | str, on_break: Callable[[int, str], None] | None = None
) -> Iterator[str]:
    """Lines of a possibly compressed file, read up to a truncation or corruption.

    A download cut short still holds millions of good lines; they are yielded, then ``on_break``
    is told after which line the stream broke and why, instead of an exception losing them all.
    """
    try:
        handle = open_text(path)
    except OSError as exc:
        if on_break is None:
            raise
        on_break(0, f"cannot read: {exc.strerror or exc}")
        return
    count = 0
    try:
        with handle:
            for line in handle:
                count += 1
                yield line
    except (EOFError, OSError, zlib.error, lzma.LZMAError) as exc:
        if on_break is None:
            raise
        on_break(count, f"file is truncated or damaged after line {count} ({exc})")
