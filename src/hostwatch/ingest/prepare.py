"""A notice file turned into batches of rows ready for the database, without touching it.

Reading, canonicalising and identifying notices is pure computation on the file; only the
insert needs the database. Keeping the two apart lets the first run in a second process while
the first process inserts (:mod:`hostwatch.ingest.handoff`), so a large file takes the longer
of the two instead of their sum. Rejected lines go to the rejects file here, in line order.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from hostwatch.identity import notice_key, url_id
from hostwatch.ingest.canonical import UrlRejected, canonicalize
from hostwatch.ingest.readers import READERS, Entry, ReadOptions
from hostwatch.ingest.rejects import RejectsFile
from hostwatch.ingest.streams import Part, Rejected, TextSource
from hostwatch.utc_text import sqlite_utc_text

BATCH = 50_000  # notices per transaction: fewer, larger WAL commits and checkpoints
FIRST_BATCH = 5_000  # the writer waits for the first batch: a small one gets it going sooner
_BAD_TEXT = re.compile("[\x00\ud800-\udfff]")

URL_COLUMNS = (
    "id", "url", "scheme", "host", "host_type", "port", "registered_domain", "first_seen_at",
)  # fmt: skip
NOTICE_COLUMNS = (
    "notice_key", "url_id", "source", "format", "reference", "classification", "received_at",
    "reported_ip", "raw", "line_no", "extra",
)  # fmt: skip

RowPass = Callable[[list[tuple[Any, ...]]], list[Any]]
# A feed listing that came with a notice: url id, host, source, (time, online) pairs.
Listing = tuple[int, str, str, tuple[tuple[datetime, bool], ...]]


@lru_cache(maxsize=1 << 14)
def _ip(text: str) -> str:
    try:
        return ipaddress.ip_address(text.strip().strip("[]")).compressed
    except ValueError:
        raise UrlRejected(f"invalid IP address {text[:45]!r}") from None


@dataclass(frozen=True)
class ReadJob:
    """Everything needed to read one file, picklable so that another process can do it."""

    path: Path
    format: str
    run_source: str
    started: datetime
    options: ReadOptions
    driver: str  # SQLAlchemy driver name ("sqlite", "postgresql+psycopg"): rows are made for it
    rejects_path: Path | None = None
    batch: int = BATCH
    part: Part | None = None  # read only this stretch of the file (see hostwatch.ingest.parts)


@dataclass
class Started:
    """The file's header was accepted: the intake run may be recorded."""


@dataclass
class Batch:
    """Rows of up to ``batch`` distinct notices, prepared for the driver, and where reading is."""

    urls: list[Any]
    notices: list[Any]
    listings: dict[str, Listing]
    position: int


@dataclass
class ReadTotals:
    """What reading the whole file gave, sent after the last batch."""

    lines: int = 0
    seen: int = 0
    rejected: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    stream_error: str | None = None


def read_batches(job: ReadJob) -> Iterator[Started | Batch | ReadTotals]:
    """:class:`Started` once the header is read, then :class:`Batch` es, then :class:`ReadTotals`.

    Raises :class:`~hostwatch.ingest.readers.FormatError` before :class:`Started` when the file
    as a whole cannot be read; single bad lines go to the rejects file (or the totals' reasons).
    """
    rejects = RejectsFile(job.rejects_path) if job.rejects_path else None
    totals = ReadTotals()
    try:
        with TextSource(job.path, job.part) as text:
            records = READERS[job.format](text, job.options)
            first = next(records, None)  # a header the reader refuses fails here
            yield Started()
            maker = _RowMaker(job)
            file_name = str(job.path)
            pending = text.pending

            def reject(line: int, raw: str, reason: str) -> None:
                if rejects is not None:
                    rejects.add(file_name, line, reason, raw)
                else:
                    totals.reasons[reason] = totals.reasons.get(reason, 0) + 1

            record: Entry | Rejected | None = first
            size = min(job.batch, FIRST_BATCH)
            while record is not None:
                if pending:
                    for item in pending:
                        reject(*item)
                    pending.clear()
                if isinstance(record, Rejected):
                    reject(*record)
                    totals.lines = max(totals.lines, record.line)
                else:
                    totals.lines = record.line
                    try:
                        maker.add(record)
                    except UrlRejected as exc:
                        reject(record.line, record.raw, exc.reason)
                    if len(maker.notices) >= size:
                        yield maker.take(text.position())
                        size = job.batch
                record = next(records, None)
            for item in pending:
                reject(*item)
            pending.clear()
            if maker.notices:
                yield maker.take(text.size)
            totals.seen = maker.seen
            totals.stream_error = text.error
    finally:
        if rejects is not None:
            rejects.close()
    if rejects is not None:
        totals.reasons = dict(rejects.reasons)
        totals.rejected = rejects.count
    else:
        totals.rejected = sum(totals.reasons.values())
    yield totals


class _RowMaker:
    """Canonicalises entries into URL and notice rows, one batch at a time."""

    def __init__(self, job: ReadJob) -> None:
        self.format = job.format
        self.run_source = job.run_source
        self.started = job.started
        self.seen = 0
        self.urls: dict[int, tuple[Any, ...]] = {}
        self.notices: dict[str, tuple[Any, ...]] = {}
        self.listings: dict[str, Listing] = {}
        # SQLite rows are made final as they are built (instants as stored text, JSON encoded):
        # the generic per-column pass would cost a sixth of the reading, and the database layer
        # it needs a second of start-up in every reader process.
        self.final = job.driver.partition("+")[0] == "sqlite"
        self.prepare_urls: RowPass | None = None
        self.prepare_notices: RowPass | None = None
        if not self.final:
            self.prepare_urls, self.prepare_notices = _driver_passes(job.driver)
        self._stamp: tuple[datetime | None, str] = (None, "")

    def add(self, entry: Entry) -> None:
        canon = canonicalize(entry.url)
        src = (entry.source or self.run_source)[:200]
        ref = entry.reference
        cls = entry.classification
        # One search over the stored texts together: a search costs more to call than to run.
        if _BAD_TEXT.search(f"{entry.raw}{ref or ''}{cls or ''}{entry.source or ''}") or (
            entry.extra and any(_BAD_TEXT.search(v) for v in entry.extra.values())
        ):
            raise UrlRejected("NUL byte or invalid surrogate in line")
        ip = _ip(entry.ip) if entry.ip else None
        key = notice_key(src, ref, canon.url, entry.raw)
        self.seen += 1
        if key in self.notices:
            return
        when: Any = entry.time or self.started
        extra: Any = entry.extra
        if self.final:
            if self._stamp[0] is not when:  # feeds without times repeat the run's instant
                self._stamp = (when, sqlite_utc_text(when))
            when = self._stamp[1]
            if extra is not None:
                extra = json.dumps(extra)  # what SQLAlchemy's JSON type binds in SQLite
        uid = url_id(canon.url)
        if uid not in self.urls:
            self.urls[uid] = (
                uid, canon.url, canon.scheme, canon.host, canon.host_type, canon.port,
                canon.registered_domain, when,
            )  # fmt: skip
        self.notices[key] = (
            key, uid, src, self.format, ref, cls[:64] if cls else None, when, ip, entry.raw,
            entry.line, extra,
        )  # fmt: skip
        if entry.observations:
            self.listings[key] = (uid, canon.host, src, entry.observations)

    def take(self, position: int) -> Batch:
        urls, notices = list(self.urls.values()), list(self.notices.values())
        batch = Batch(
            urls=self.prepare_urls(urls) if self.prepare_urls else urls,
            notices=self.prepare_notices(notices) if self.prepare_notices else notices,
            listings=dict(self.listings),
            position=position,
        )
        self.urls.clear()
        self.notices.clear()
        self.listings.clear()
        return batch


def _driver_passes(driver: str) -> tuple[RowPass, RowPass]:
    """The bind processors of the URL and notice inserts for a driver other than SQLite's."""
    # Imported here, not at the top: SQLite's reader processes never need the database layer.
    from sqlalchemy import URL

    from hostwatch.model import Notice, Url
    from hostwatch.model.bulk_insert import BulkInsert

    dialect = URL.create(driver).get_dialect()()
    urls = BulkInsert(dialect, Url.__table__, URL_COLUMNS, ignore_conflicts=True)
    notices = BulkInsert(dialect, Notice.__table__, NOTICE_COLUMNS, ignore_conflicts=True)
    return urls.prepare, notices.prepare
