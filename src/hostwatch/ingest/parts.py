"""A large notice file read in parts by several processes at once, merged into one stream.

One reader process keeps pace with the writer only on a fast hour: reading, canonicalising and
identifying a line costs more than inserting it. Files whose records are one line each (see
:func:`~hostwatch.ingest.readers.one_record_per_line`) can be cut after any line feed, so they
are cut into parts of about equal size, each read by its own process
(:mod:`hostwatch.ingest.handoff`), which reads the file's header first and then its part,
numbering lines as in the file. The writer takes batches from the parts in turn; at the end the
rejects of later parts are appended to the rejects file in part order, so it stays in line order.

Notice ids follow the order in which batches are written: within one intake run they interleave
batch by batch between the parts, and ``line_no`` keeps the order of the file.
"""

from __future__ import annotations

import itertools
import os
import re
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import replace
from pathlib import Path
from typing import IO

from hostwatch.ingest.handoff import read_in_child
from hostwatch.ingest.prepare import Batch, ReadJob, ReadTotals, Started
from hostwatch.ingest.readers import READERS, one_record_per_line
from hostwatch.ingest.streams import Part, TextSource

SPLIT_FROM_BYTES = 16 << 20  # smaller files are read by one process: starting more costs more
MAX_HEADER_BYTES = 1 << 20  # a header longer than this is unusual enough to read the file whole
_CHUNK = 1 << 22
_TERMINATOR = re.compile(rb"\r\n|\r|\n")  # what universal-newline reading ends a line at


def reader_count() -> int:
    """How many processes read at once: two where there are two cores (one more would only
    take turns with the writer on the same cores)."""
    return max(1, min(2, os.cpu_count() or 1))


def plan_parts(job: ReadJob, count: int) -> list[Part] | None:
    """``count`` parts of about equal size of the job's file, or None where it is read whole:
    compressed, records over several lines, under :data:`SPLIT_FROM_BYTES`, an unusual header.

    Raises :class:`~hostwatch.ingest.readers.FormatError` where the reader refuses the header,
    as reading the file would.
    """
    size = os.path.getsize(job.path)
    if count < 2 or size < SPLIT_FROM_BYTES:
        return None
    with TextSource(job.path) as text:
        if text.compression is not None or not one_record_per_line(job.format, text):
            return None
        records = READERS[job.format](text, replace(job.options))
        first = next(records, None)
        records.close()
        if first is None or text.pending:
            return None
        header_lines = first.line - 1
    with open(job.path, "rb") as handle:
        header_end = _end_of_lines(handle, header_lines)
        if header_end is None:
            return None
        bounds = [0, *_cuts(handle, header_end, size, count), size]
        if len(bounds) < 3:
            return None
        parts, line = [], 1
        for start, end in itertools.pairwise(bounds):
            header = (header_end, header_lines) if start else (0, 0)
            parts.append(Part(*header, start=start, end=end, first_line=line))
            line += _count_lines(handle, start, end)
    return parts


def _end_of_lines(handle: IO[bytes], lines: int) -> int | None:
    """The offset just after the first ``lines`` lines, if they end in a line feed."""
    if lines == 0:
        return 0
    handle.seek(0)
    head = handle.read(MAX_HEADER_BYTES)
    for number, match in enumerate(_TERMINATOR.finditer(head), start=1):
        if number == lines:
            # A bare CR could pair with a LF at the start of a part and merge two lines.
            return match.end() if match[0].endswith(b"\n") and match.end() < len(head) else None
    return None


def _cuts(handle: IO[bytes], header_end: int, size: int, count: int) -> list[int]:
    """Offsets just after a line feed near each ``1/count`` of the data, increasing."""
    cuts: list[int] = []
    for k in range(1, count):
        at = header_end + (size - header_end) * k // count
        handle.seek(at)
        while True:
            chunk = handle.read(_CHUNK)
            found = chunk.find(b"\n")
            if found != -1 or not chunk:
                break
            at += len(chunk)
        if found == -1:
            break
        cut = at + found + 1
        if cut >= size:
            break
        if cut > max(cuts, default=header_end):
            cuts.append(cut)
    return cuts


def _count_lines(handle: IO[bytes], start: int, end: int) -> int:
    """Lines in ``[start, end)`` as universal-newline reading counts them (CR LF is one)."""
    handle.seek(start)
    count, left, last = 0, end - start, b""
    while left > 0:
        chunk = handle.read(min(_CHUNK, left))
        if not chunk:
            break
        left -= len(chunk)
        count += chunk.count(b"\n") + chunk.count(b"\r") - chunk.count(b"\r\n")
        if last == b"\r" and chunk[:1] == b"\n":
            count -= 1  # a CR LF across two chunks
        last = chunk[-1:]
    return count


@contextmanager
def read_in_parts(
    job: ReadJob, parts: list[Part]
) -> Iterator[Iterator[Started | Batch | ReadTotals]]:
    """:func:`~hostwatch.ingest.prepare.read_batches` of the whole file, from one process per
    part: one :class:`Started`, every part's batches, one :class:`ReadTotals` for all."""
    spare = _spare_rejects(job.rejects_path, len(parts))
    jobs = [
        replace(job, part=part, rejects_path=path)
        for part, path in zip(parts, [job.rejects_path, *spare], strict=True)
    ]
    try:
        with ExitStack() as stack:
            streams = [stack.enter_context(read_in_child(part_job)) for part_job in jobs]
            yield _merged(streams, parts, job.rejects_path, spare)
    finally:
        for path in spare:
            if path is not None:
                path.unlink(missing_ok=True)


def _spare_rejects(rejects: Path | None, count: int) -> list[Path | None]:
    """Where the parts after the first write their rejects until they are appended."""
    if rejects is None:
        return [None] * (count - 1)
    paths: list[Path | None] = []
    for index in range(1, count):
        path = rejects.with_name(f".{rejects.name}.part{index}")
        path.unlink(missing_ok=True)
        paths.append(path)
    return paths


def _merged(
    streams: list[Iterator[Started | Batch | ReadTotals]],
    parts: list[Part],
    rejects: Path | None,
    spare: list[Path | None],
) -> Iterator[Started | Batch | ReadTotals]:
    for stream in streams:
        started = next(stream)
        assert isinstance(started, Started)
    yield Started()
    done = [0] * len(parts)
    totals = ReadTotals()
    reasons: Counter[str] = Counter()
    live = list(range(len(streams)))
    while live:
        for index in tuple(live):
            item = next(streams[index])
            if isinstance(item, Batch):
                done[index] = max(0, item.position - parts[index].start)
                item.position = sum(done)
                yield item
                continue
            assert isinstance(item, ReadTotals)
            live.remove(index)
            totals.lines = max(totals.lines, item.lines)
            totals.seen += item.seen
            totals.rejected += item.rejected
            reasons.update(item.reasons)
            totals.stream_error = totals.stream_error or item.stream_error
    totals.reasons = dict(reasons)
    if rejects is not None:
        _append_rejects(rejects, [path for path in spare if path is not None])
    yield totals


def _append_rejects(rejects: Path, spare: list[Path]) -> None:
    """The later parts' rejects after the first part's, each file's header row kept once."""
    for path in spare:
        if not path.exists():
            continue
        data = path.read_bytes()
        with open(rejects, "ab") as out:
            out.write(data if out.tell() == 0 else data.partition(b"\n")[2])
