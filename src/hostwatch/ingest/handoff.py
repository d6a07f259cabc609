"""Reading a notice file in a second process while this one writes to the database.

Canonicalising a line and inserting it cost about the same; done one after the other in one
process they add up, done side by side on two cores the slower of the two sets the pace. The
reader is a fresh Python running :func:`serve` (never a fork of a process holding
database connections and threads, and independent of how the caller's main module is written);
it sends prepared batches as length-prefixed pickles through a pipe, whose limited buffer holds
the reader back when the writer falls behind, so memory stays flat whatever the file's size. A
reader that fails sends its exception back; one that dies is noticed at the end of the pipe.
"""

from __future__ import annotations

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


@dataclass
class _Failure:
    error: BaseException


def _send(out: IO[bytes], item: object) -> None:
    data = pickle.dumps(item, protocol=pickle.HIGHEST_PROTOCOL)
    out.write(_LENGTH.pack(len(data)))
    out.write(data)
    out.flush()


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
        head = _read_exactly(process.stdout, _LENGTH.size)
        data = _read_exactly(process.stdout, _LENGTH.unpack(head)[0]) if head else None
        if data is None:
            raise RuntimeError(
                f"the intake reader process ended unexpectedly (exit code {process.wait()})"
            )
        item = pickle.loads(data)  # noqa: S301 (our own child, over a private pipe)
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
