"""Reading one notice file into the database: canonicalise, identify, insert in bulk.

Notices are identified by :func:`notice_key`, URLs by their content-addressed id, and both are
inserted with ``ON CONFLICT DO NOTHING`` in batches, so a file can be ingested twice (or two
workers can race) without duplicates and without reading back what exists. Feed listings that
come with history formats are written only for notices this run inserted, which keeps them
idempotent too.
"""

from __future__ import annotations

import hashlib
import ipaddress
import itertools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, select, update

from hostwatch.clock import Clock
from hostwatch.ingest.bulk import BulkInsert
from hostwatch.ingest.canonical import UrlRejected, canonicalize
from hostwatch.ingest.detect import detect_format
from hostwatch.ingest.readers import DEFAULT_SOURCES, READERS, Entry, FormatError, ReadOptions
from hostwatch.ingest.rejects import RejectsFile
from hostwatch.ingest.streams import Rejected, TextSource
from hostwatch.model import IngestRun, Notice, Observation, Url
from hostwatch.model.db import engine_for
from hostwatch.model.url import url_id

BATCH = 50_000  # notices per transaction: fewer, larger WAL commits and checkpoints
SQLITE_CACHE_KIB = 65536
_BAD_TEXT = re.compile("[\x00\ud800-\udfff]")
Progress = Callable[[int, int], None]


@dataclass
class IngestReport:
    """What one file gave: the figures the screen summary and the IngestRun record show."""

    path: Path
    format: str
    source: str
    run_id: int
    lines: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    observations: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    rejects_path: Path | None = None
    stream_error: str | None = None


def notice_key(source: str, reference: str | None, canonical_url: str, raw: str) -> str:
    """The identity of a notice across re-ingests (sha256 hex).

    With a reporter reference: source, reference and canonical URL. Without one the raw line
    stands in, so the same line from the same source is one notice however often it is read.
    """
    text = f"{source}\x1f{reference}\x1f{canonical_url}" if reference else f"{source}\x1f\x1f{raw}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@lru_cache(maxsize=1 << 14)
def _ip(text: str) -> str:
    try:
        return ipaddress.ip_address(text.strip().strip("[]")).compressed
    except ValueError:
        raise UrlRejected(f"invalid IP address {text[:45]!r}") from None


def ingest_file(
    path: Path | str,
    database_url: str,
    *,
    format: str = "auto",
    source: str | None = None,
    options: ReadOptions | None = None,
    rejects_path: Path | None = None,
    clock: Clock | None = None,
    progress: Progress | None = None,
) -> IngestReport:
    """Read ``path`` into the database and record an :class:`IngestRun`.

    Raises :class:`~hostwatch.ingest.detect.FormatUndecided` or
    :class:`~hostwatch.ingest.readers.FormatError` when the file as a whole cannot be read;
    single bad lines go to the rejects file instead.
    """
    path = Path(path)
    clock = clock or Clock.system()
    fmt = detect_format(path) if format == "auto" else format
    if fmt not in READERS:
        raise FormatError(f"unknown format {fmt!r}; known: {', '.join(READERS)}")
    options = replace(options) if options else ReadOptions()
    run_source = source or DEFAULT_SOURCES[fmt]
    started = clock.now()
    engine = engine_for(database_url)
    rejects = RejectsFile(rejects_path) if rejects_path else None
    try:
        with TextSource(path) as text:
            records = READERS[fmt](text, options)
            first = next(records, None)  # a header the reader refuses fails here, before the run
            with engine.begin() as conn:
                run_id = conn.execute(
                    insert(IngestRun)
                    .values(source=run_source[:200], format=fmt, path=str(path), started_at=started)
                    .returning(IngestRun.id)
                ).scalar_one()
                first_id = conn.execute(select(func.coalesce(func.max(Notice.id), 0))).scalar_one()
            report = IngestReport(path, fmt, run_source, run_id, rejects_path=rejects_path)
            writer = _BatchWriter(engine, run_id, fmt, first_id)
            records = itertools.chain(() if first is None else (first,), records)
            _consume(records, text, report, rejects, writer, run_source, started, progress)
            report.stream_error = text.error
            if progress:
                progress(text.size, text.size)
    finally:
        if rejects is not None:
            rejects.close()
    report.accepted, report.observations = writer.totals()
    report.duplicates = writer.seen - report.accepted
    if rejects is not None:
        report.reasons = dict(rejects.reasons)
        report.rejected = rejects.count
        if not rejects.count:
            report.rejects_path = None
    else:
        report.rejected = sum(report.reasons.values())
    with engine.begin() as conn:
        conn.execute(
            update(IngestRun)
            .where(IngestRun.id == run_id)
            .values(
                finished_at=clock.now(),
                lines=report.lines,
                accepted=report.accepted,
                duplicates=report.duplicates,
                rejected=report.rejected,
                rejects_path=str(report.rejects_path) if report.rejects_path else None,
            )
        )
    return report


def _consume(
    records: Iterator[Entry | Rejected],
    text: TextSource,
    report: IngestReport,
    rejects: RejectsFile | None,
    writer: _BatchWriter,
    run_source: str,
    started: datetime,
    progress: Progress | None,
) -> None:
    file_name = str(report.path)
    pending = text.pending

    def reject(line: int, raw: str, reason: str) -> None:
        if rejects is not None:
            rejects.add(file_name, line, reason, raw)
        else:
            report.reasons[reason] = report.reasons.get(reason, 0) + 1

    for record in records:
        if pending:
            for item in pending:
                reject(*item)
            pending.clear()
        if isinstance(record, Rejected):
            reject(*record)
            report.lines = max(report.lines, record.line)
            continue
        report.lines = record.line
        try:
            writer.add(record, run_source, started)
        except UrlRejected as exc:
            reject(record.line, record.raw, exc.reason)
            continue
        if writer.full():
            writer.flush()
            if progress:
                progress(text.position(), text.size)
    for item in pending:
        reject(*item)
    pending.clear()
    writer.flush()


URL_COLUMNS = (
    "id", "url", "scheme", "host", "host_type", "port", "registered_domain", "first_seen_at",
)  # fmt: skip
NOTICE_COLUMNS = (
    "notice_key", "url_id", "source", "format", "reference", "classification", "received_at",
    "reported_ip", "raw", "line_no", "ingest_run_id", "extra",
)  # fmt: skip
OBSERVATION_COLUMNS = ("kind", "observed_at", "source", "url_id", "host", "online", "notice_id")


class _BatchWriter:
    """Collects rows for one batch and writes them in one transaction."""

    def __init__(self, engine: Engine, run_id: int, fmt: str, first_id: int) -> None:
        self.engine = engine
        self.run_id = run_id
        self.format = fmt
        self.first_id = first_id
        self.last_id = first_id
        self.seen = 0
        self.observation_count = 0
        self.urls: dict[int, tuple[Any, ...]] = {}
        self.notices: dict[str, tuple[Any, ...]] = {}
        self.listings: dict[str, tuple[int, str, str, tuple[tuple[datetime, bool], ...]]] = {}
        self.url_insert = BulkInsert(engine, Url.__table__, URL_COLUMNS, ignore_conflicts=True)
        self.notice_insert = BulkInsert(
            engine, Notice.__table__, NOTICE_COLUMNS, ignore_conflicts=True
        )
        self.observation_insert = BulkInsert(
            engine, Observation.__table__, OBSERVATION_COLUMNS, ignore_conflicts=False
        )

    def add(self, entry: Entry, run_source: str, started: datetime) -> None:
        canon = canonicalize(entry.url)
        src = (entry.source or run_source)[:200]
        ref = entry.reference
        cls = entry.classification
        if _BAD_TEXT.search(entry.raw) or (
            (ref and _BAD_TEXT.search(ref))
            or (cls and _BAD_TEXT.search(cls))
            or (entry.source and _BAD_TEXT.search(entry.source))
            or (entry.extra and any(_BAD_TEXT.search(v) for v in entry.extra.values()))
        ):
            raise UrlRejected("NUL byte or invalid surrogate in line")
        ip = _ip(entry.ip) if entry.ip else None
        key = notice_key(src, ref, canon.url, entry.raw)
        self.seen += 1
        if key in self.notices:
            return
        when = entry.time or started
        uid = url_id(canon.url)
        if uid not in self.urls:
            self.urls[uid] = (
                uid, canon.url, canon.scheme, canon.host, canon.host_type, canon.port,
                canon.registered_domain, when,
            )  # fmt: skip
        self.notices[key] = (
            key, uid, src, self.format, ref, cls[:64] if cls else None, when, ip, entry.raw,
            entry.line, self.run_id, entry.extra,
        )  # fmt: skip
        if entry.observations:
            self.listings[key] = (uid, canon.host, src, entry.observations)

    def full(self) -> bool:
        return len(self.notices) >= BATCH

    def flush(self) -> None:
        if not self.notices:
            return
        with self.engine.begin() as conn:
            if self.engine.dialect.name == "sqlite":
                # Random keys (digests, content-addressed ids) touch index pages all over the
                # file; a larger page cache keeps more of them in memory while ingesting.
                conn.exec_driver_sql(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
            self.url_insert.execute(conn, list(self.urls.values()))
            self.notice_insert.execute(conn, list(self.notices.values()))
            if self.listings:
                self._write_listings(conn)
        self.urls.clear()
        self.notices.clear()
        self.listings.clear()

    def _write_listings(self, conn: Connection) -> None:
        new = conn.execute(
            select(Notice.id, Notice.notice_key).where(
                Notice.id > self.last_id, Notice.ingest_run_id == self.run_id
            )
        ).all()
        if not new:
            return
        self.last_id = max(row.id for row in new)
        rows = []
        for notice_id, key in new:
            listing = self.listings.get(key)
            if listing is not None:
                uid, host, source, seen = listing
                rows.extend(
                    ("listing", at, source, uid, host, online, notice_id) for at, online in seen
                )
        self.observation_insert.execute(conn, rows)
        self.observation_count += len(rows)

    def totals(self) -> tuple[int, int]:
        with self.engine.connect() as conn:
            accepted = conn.execute(
                select(func.count())
                .select_from(Notice)
                .where(Notice.id > self.first_id, Notice.ingest_run_id == self.run_id)
            ).scalar_one()
        return accepted, self.observation_count
