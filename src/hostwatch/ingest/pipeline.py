"""Reading one notice file into the database: canonicalise, identify, insert in bulk.

Notices and URLs are identified by digests (:mod:`hostwatch.identity`) and inserted with
``ON CONFLICT DO NOTHING`` in batches, so a file can be ingested twice (or two workers can race)
without duplicates and without reading back what exists. Feed listings that come with history
formats are written only for notices this run inserted, which keeps them idempotent too. Large
files are read in a second process (:mod:`hostwatch.ingest.handoff`), or in parts by several
(:mod:`hostwatch.ingest.parts`), while this one inserts. On SQLite, intakes take turns, and a
large load goes in without the indexes of the intake tables, built once at the end
(:mod:`hostwatch.model.bulk_indexes`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field, replace
from pathlib import Path

from sqlalchemy import Connection, Engine, func, insert, select, update

from hostwatch.clock import Clock
from hostwatch.ingest.detect import detect_format
from hostwatch.ingest.handoff import read_in_child
from hostwatch.ingest.parts import plan_parts, read_in_parts, reader_count
from hostwatch.ingest.prepare import (
    NOTICE_COLUMNS,
    URL_COLUMNS,
    Batch,
    Listing,
    ReadJob,
    ReadTotals,
    Started,
    read_batches,
)
from hostwatch.ingest.readers import DEFAULT_SOURCES, READERS, FormatError, ReadOptions
from hostwatch.model import IngestRun, Notice, Observation, Url
from hostwatch.model.bulk_indexes import indexes_deferred, intake_lock, restore_indexes
from hostwatch.model.bulk_insert import BulkInsert
from hostwatch.model.db import engine_for, trusted_connection

SQLITE_CACHE_KIB = 65536
# From this size on, reading happens in a second process: below it, starting one costs more
# than it saves. Compressed files count several times their size.
PARALLEL_FROM_BYTES = 8 << 20
BYTES_PER_LINE = 100  # a notice line, roughly: how many rows a file of this size may bring
Progress = Callable[[int, int], None]

__all__ = ["IngestReport", "ingest_file"]


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
    parallel: bool | None = None,
) -> IngestReport:
    """Read ``path`` into the database and record an :class:`IngestRun`.

    Raises :class:`~hostwatch.ingest.detect.FormatUndecided` or
    :class:`~hostwatch.ingest.readers.FormatError` when the file as a whole cannot be read;
    single bad lines go to the rejects file instead. ``parallel`` chooses whether a second
    process reads the file (default: for files of :data:`PARALLEL_FROM_BYTES` and more).
    """
    path = Path(path)
    clock = clock or Clock.system()
    fmt = detect_format(path) if format == "auto" else format
    if fmt not in READERS:
        raise FormatError(f"unknown format {fmt!r}; known: {', '.join(READERS)}")
    run_source = source or DEFAULT_SOURCES[fmt]
    started = clock.now()
    engine = engine_for(database_url)
    job = ReadJob(
        path=path,
        format=fmt,
        run_source=run_source,
        started=started,
        options=replace(options) if options else ReadOptions(),
        driver=engine.url.drivername,
        rejects_path=rejects_path,
    )
    if parallel is None:
        parallel = _weight(path) >= PARALLEL_FROM_BYTES
    reading: AbstractContextManager[Iterator[Started | Batch | ReadTotals]]
    if not parallel:
        reading = nullcontext(read_batches(job))
    elif parts := plan_parts(job, reader_count()):
        reading = read_in_parts(job, parts)
    else:
        reading = read_in_child(job)
    with intake_lock(engine), reading as items:
        restore_indexes(engine)  # a load that died may have left them out
        next(items)  # Started: the header was accepted (or FormatError was raised)
        with engine.begin() as conn:
            run_id = conn.execute(
                insert(IngestRun)
                .values(source=run_source[:200], format=fmt, path=str(path), started_at=started)
                .returning(IngestRun.id)
            ).scalar_one()
            first_id = conn.execute(select(func.coalesce(func.max(Notice.id), 0))).scalar_one()
        report = IngestReport(path, fmt, run_source, run_id, rejects_path=rejects_path)
        writer = _BatchWriter(engine, run_id, first_id)
        size = path.stat().st_size
        with indexes_deferred(engine, _weight(path) // BYTES_PER_LINE) as deferral:
            for item in items:
                if isinstance(item, Batch):
                    writer.write(item)
                    if progress:
                        progress(item.position, size)
                else:
                    assert isinstance(item, ReadTotals)
                    totals = item
        report.accepted, report.observations = writer.totals()
        report.observations -= deferral.removed_listings
    if progress:
        progress(size, size)
    report.lines = totals.lines
    report.stream_error = totals.stream_error
    report.reasons = totals.reasons
    report.rejected = totals.rejected
    if not totals.rejected:
        report.rejects_path = None
    report.duplicates = totals.seen - report.accepted
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


def _weight(path: Path) -> int:
    """The file's size, compressed files counted at a typical ratio for text feeds."""
    size = path.stat().st_size
    with path.open("rb") as handle:
        head = handle.read(6)
    compressed = head.startswith((b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00"))
    return size * 8 if compressed else size


OBSERVATION_COLUMNS = ("kind", "observed_at", "source", "url_id", "host", "online", "notice_id")


class _BatchWriter:
    """Writes prepared batches, each in one transaction, and the listings of new notices."""

    def __init__(self, engine: Engine, run_id: int, first_id: int) -> None:
        self.engine = engine
        self.run_id = run_id
        self.first_id = first_id
        self.last_id = first_id
        self.observation_count = 0
        dialect = engine.dialect
        self.url_insert = BulkInsert(dialect, Url.__table__, URL_COLUMNS, ignore_conflicts=True)
        self.notice_insert = BulkInsert(
            dialect,
            Notice.__table__,
            NOTICE_COLUMNS,
            ignore_conflicts=True,
            constants={"ingest_run_id": run_id},
        )
        self.observation_insert = BulkInsert(
            dialect, Observation.__table__, OBSERVATION_COLUMNS, ignore_conflicts=False
        )

    def write(self, batch: Batch) -> None:
        # The URLs of a batch go in before the notices naming them, and the run exists: the
        # foreign keys hold by construction (see trusted_connection).
        with trusted_connection(self.engine) as conn, conn.begin():
            if self.engine.dialect.name == "sqlite":
                # Random keys (digests, content-addressed ids) touch index pages all over the
                # file; a larger page cache keeps more of them in memory while ingesting.
                conn.exec_driver_sql(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
            self.url_insert.run(conn, batch.urls)
            self.notice_insert.run(conn, batch.notices)
            if batch.listings:
                self._write_listings(conn, batch.listings)

    def _write_listings(self, conn: Connection, listings: dict[str, Listing]) -> None:
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
            listing = listings.get(key)
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
