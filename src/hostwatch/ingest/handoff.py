"""Reading a notice file in a second process while this one writes to the database.

Canonicalising a line and inserting it cost about the same; done one after the other in one
process they add up, done side by side on two cores the slower of the two sets the pace. The
reader is a fresh Python running :func:`serve` (never a fork of a process holding
database connections and threads, and independent of how the caller's main module is written);
it sends prepared batches as length-prefixed frames through a pipe, whose limited buffer holds
the reader back when the writer falls behind, so memory stays flat whatever the file's size. A
reader that fails sends its exception back; one that dies is noticed at the end of the pipe.
"""

from __future__ import annotations

import marshal
import pickle
import struct
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO

from hostwatch.ingest.prepare import Batch, ReadJob, ReadTotals, Started, read_batches

_LENGTH = struct.Struct("<Q")
_ROWS, _PICKLE = b"R", b"P"


@dataclass
class _Failure:
    error: BaseException


def _frame(out: IO[bytes], data: bytes) -> None:
    out.write(_LENGTH.pack(len(data)))
    out.write(data)


def _send(out: IO[bytes], item: object) -> None:
    """A batch's rows go as ``marshal`` (twice as fast as pickle for tuples of plain values)
    where they hold only plain values (SQLite's); everything else as a pickle."""
    if isinstance(item, Batch):
        try:
            rows = marshal.dumps((item.urls, item.notices, item.position))
        except ValueError:  # e.g. datetimes, in rows made for PostgreSQL
            pass
        else:
            out.write(_ROWS)
            _frame(out, rows)
            _frame(out, pickle.dumps(item.listings, protocol=pickle.HIGHEST_PROTOCOL))
            out.flush()
            return
    out.write(_PICKLE)
    _frame(out, pickle.dumps(item, protocol=pickle.HIGHEST_PROTOCOL))
    out.flush()


def _read_frame(source: IO[bytes]) -> bytes | None:
    head = _read_exactly(source, _LENGTH.size)
    return _read_exactly(source, _LENGTH.unpack(head)[0]) if head else None


def _next_item(source: IO[bytes]) -> object | None:
    """The next item from the pipe; None where the pipe ends (mid-item or not)."""
    kind = source.read(1)
    data = _read_frame(source) if kind in (_ROWS, _PICKLE) else None
    if data is None:
        return None
    # Both come from our own child over a private pipe.
    if kind == _PICKLE:
        return pickle.loads(data)  # noqa: S301
    listings = _read_frame(source)
    if listings is None:
        return None
    urls, notices, position = marshal.loads(data)  # noqa: S302
    return Batch(urls, notices, pickle.loads(listings), position)  # noqa: S301


def _read_exactly(source: IO[bytes], size: int) -> bytes | None:
    data = source.read(size)
    return data if len(data) == size else None


@contextmanager
def read_in_child(job: ReadJob) -> Iterator[Iterator[Started | Batch | ReadTotals]]:
    """:func:`~hostwatch.ingest.prepare.read_batches` run in a second Python process."""
    process = subprocess.Popen(
        [sys.executable, "-c", "from hostwatch.ingest.handoff import serve; serve()"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert process.stdin is not None and process.stdout is not None
    try:
        process.stdin.write(pickle.dumps(job, protocol=pickle.HIGHEST_PROTOCOL))
        process.stdin.close()
        yield _receive(process)
    finally:
        if process.poll() is None:
            process.kill()
        process.stdout.close()
        process.wait()


def _receive(process: subprocess.Popen[bytes]) -> Iterator[Started | Batch | ReadTotals]:
    assert process.stdout is not None
    while True:
        item = _next_item(process.stdout)
        if item is None:
            raise RuntimeError(
                f"the intake reader process ended unexpectedly (exit code {process.wait()})"
            )
        if isinstance(item, _Failure):
            raise item.error
        yield item
        if isinstance(item, ReadTotals):
            return


def serve() -> None:
    """The reader's side: a pickled job on stdin, batches on stdout."""
    out = sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing but batches may reach the pipe
    job: ReadJob = pickle.load(sys.stdin.buffer)  # noqa: S301 (written by our parent)
    try:
        for item in read_batches(job):
            _send(out, item)
    except BaseException as exc:  # sent back whatever it is: the writer decides
        try:
            _send(out, _Failure(exc))
        except Exception:  # an exception that cannot be pickled still says what happened
            _send(out, _Failure(RuntimeError(f"{type(exc).__name__}: {exc}")))
