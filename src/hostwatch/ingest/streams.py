"""Notice files as text streams, whatever their compression, and safe to read to the end.

Feeds arrive gzip-, bzip2- or xz-compressed, often cut short by an interrupted download. A cut
stream must not lose what came before the cut, so decompression errors end the stream instead of
raising, and the break is reported. Lines are capped in length so one 10 MB line cannot hold
the whole file hostage; it becomes one rejected line.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, NamedTuple

MAX_LINE = 65536  # characters; longer physical lines are rejected whole
_MAGIC = ((b"\x1f\x8b", "gzip"), (b"BZh", "bzip2"), (b"\xfd7zXZ\x00", "xz"))
_OPENERS = {
    "gzip": lambda f: gzip.GzipFile(fileobj=f, mode="rb"),
    "bzip2": lambda f: bz2.BZ2File(f, "rb"),
    "xz": lambda f: lzma.LZMAFile(f, "rb"),  # noqa: SIM115 (closed with the source)
}


class Rejected(NamedTuple):
    """One input line (or record) that could not become a notice, and why."""

    line: int
    raw: str
    reason: str


class _Guarded(io.RawIOBase):
    """A decompressing reader that turns a corrupt or truncated tail into end-of-file."""

    def __init__(self, inner: IO[bytes], kind: str) -> None:
        self._inner = inner
        self._kind = kind
        self.error: str | None = None
        self.delivered = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if self.error is not None:
            return 0
        try:
            data = self._inner.read(len(buffer))
        except (EOFError, OSError, lzma.LZMAError, zlib.error, ValueError) as exc:
            self.error = f"{self._kind} stream broken after {self.delivered} bytes: {exc}"
            return 0
        size = len(data)
        buffer[:size] = data
        self.delivered += size
        return size


@dataclass(frozen=True)
class Part:
    """A stretch of an uncompressed file that one reader reads as if it were the whole file.

    The reader sees the file's header (bytes ``[0, header_end)``, ``header_lines`` lines, no
    records) and then the lines in ``[start, end)``, numbered from ``first_line`` as they are in
    the file. Both ends fall just after a line feed, so no line and no UTF-8 sequence is cut.
    """

    header_end: int
    header_lines: int
    start: int
    end: int
    first_line: int


class _Stretches(io.RawIOBase):
    """Bytes ``[0, header_end)`` then ``[start, end)`` of a file, as one stream."""

    def __init__(self, file: IO[bytes], part: Part) -> None:
        self._file = file
        self._ranges = [(0, part.header_end), (part.start, part.end)]
        self._file.seek(0)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        while self._ranges:
            begin, end = self._ranges[0]
            here = self._file.tell()
            if here < begin:
                self._file.seek(begin)
                here = begin
            size = min(len(buffer), end - here)
            if size > 0:
                return self._file.readinto(buffer[:size]) or 0
            self._ranges.pop(0)
        return 0


class TextSource:
    """One input file opened for reading text: decompressed, decoded, progress-aware.

    Invalid UTF-8 is decoded with U+FFFD replacement characters; the URL canonicaliser refuses
    URLs that contain one, so a line with broken bytes in its URL is rejected with that reason
    while broken bytes in other fields survive as replacement characters. With a :class:`Part`
    only that stretch of the file (and its header) is read, its lines numbered as in the file.
    """

    def __init__(self, path: Path | str, part: Part | None = None) -> None:
        self.path = Path(path)
        self.size = os.path.getsize(self.path)
        self._file = open(self.path, "rb")  # noqa: SIM115 (closed by close())
        head = self._file.read(6)
        self._file.seek(0)
        self.compression = next((name for magic, name in _MAGIC if head.startswith(magic)), None)
        self.part = part
        if part is not None:
            if self.compression is not None:
                raise ValueError("a compressed file is read as a whole")
            self.size = part.end
            self._guard: _Guarded | None = None
            binary: IO[bytes] = io.BufferedReader(_Stretches(self._file, part), 1 << 16)
        elif self.compression is None:
            self._guard = None
            binary = self._file
        else:
            inner = _OPENERS[self.compression](self._file)
            self._guard = _Guarded(inner, self.compression)
            binary = io.BufferedReader(self._guard, buffer_size=1 << 16)
        self.text = io.TextIOWrapper(binary, encoding="utf-8", errors="replace", newline=None)
        self.pending: list[Rejected] = []

    @property
    def error(self) -> str | None:
        """Why the stream ended early, or None if it was read to its real end."""
        return self._guard.error if self._guard is not None else None

    def position(self) -> int:
        """Bytes of the file (compressed) consumed so far, for progress bars."""
        try:
            return self._file.tell()
        except (OSError, ValueError):
            return self.size

    def lines(self) -> Iterator[tuple[int, str]]:
        """(line number, line without its newline) for every line up to :data:`MAX_LINE`.

        Longer lines are skipped and queued in :attr:`pending` as rejects; so is a last line cut
        by a broken stream.
        """
        readline = self.text.readline
        number = 0
        # A part's lines after the header continue at their number in the file.
        jump_after, jump_to = (
            (self.part.header_lines, self.part.first_line - 1) if self.part else (-1, 0)
        )
        while True:
            line = readline(MAX_LINE + 1)
            if not line:
                return
            if number == jump_after:
                number = jump_to
            number += 1
            if line[-1] == "\n":
                yield number, line[:-1]
                continue
            if len(line) <= MAX_LINE:
                if self.error is not None:
                    self.pending.append(Rejected(number, line, "last line cut off: " + self.error))
                    return
                yield number, line
                return
            length, excerpt = len(line), line[:200]
            while line and line[-1] != "\n":
                line = readline(1 << 20)
                length += len(line)
            self.pending.append(
                Rejected(number, excerpt, f"line of {length} characters exceeds {MAX_LINE}")
            )

    def head(self, size: int = 65536) -> str:
        """The first ``size`` characters, without consuming them (for format detection)."""
        with TextSource(self.path) as probe:
            return probe.text.read(size)

    def close(self) -> None:
        self.text.close()
        self._file.close()

    def __enter__(self) -> TextSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
