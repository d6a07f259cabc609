"""A large load into SQLite sets the intake indexes aside and always ends with all of them, and
with the same notices a load that kept them would have written."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from hostwatch.clock import Clock
from hostwatch.ingest import pipeline
from hostwatch.ingest.pipeline import ingest_file
from hostwatch.model import IngestRun, Notice, Observation, bulk_indexes
from hostwatch.model.bulk_indexes import deferrable_indexes, intake_lock
from hostwatch.model.db import engine_for, migrate, session_scope

CLOCK = Clock.at("2024-05-01T12:00:00Z")
EXPECTED = {
    "ix_notices_received_at",
    "ix_notices_url_id",
    "ix_urls_host",
    "ix_urls_registered_domain",
    "uq_notices_notice_key",
}


def indexes(url: str) -> set[str]:
    with engine_for(url).connect() as conn:
        rows = conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'index'"))
        return {name for (name,) in rows if not name.startswith("sqlite_autoindex")}


def feed(write_file: Callable[..., Path], lines: int, name: str = "feed.txt") -> Path:
    return write_file(name, "".join(f"http://n{i}.example.net/x\n" for i in range(lines)))


def test_the_deferrable_indexes_are_all_but_the_primary_keys() -> None:
    assert {str(index.name) for index in deferrable_indexes()} == EXPECTED


def test_large_load_drops_and_rebuilds(
    sqlite_url: str, write_file: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bulk_indexes, "DEFER_FROM_ROWS", 10)
    seen_during: list[set[str]] = []
    real_write = pipeline._BatchWriter.write

    def write(self, batch):  # type: ignore[no-untyped-def]
        seen_during.append(indexes(sqlite_url))
        real_write(self, batch)

    monkeypatch.setattr(pipeline._BatchWriter, "write", write)
    report = ingest_file(feed(write_file, 300), sqlite_url, format="openphish", clock=CLOCK)
    assert report.accepted == 300
    assert seen_during and seen_during[0].isdisjoint(EXPECTED)
    assert indexes(sqlite_url) >= EXPECTED
    # a second load into a table holding more rows than it brings keeps its indexes
    seen_during.clear()
    ingest_file(feed(write_file, 50, "small.txt"), sqlite_url, format="openphish", clock=CLOCK)
    assert seen_during[0] >= EXPECTED


def test_a_failed_load_still_ends_with_its_indexes(
    sqlite_url: str, write_file: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bulk_indexes, "DEFER_FROM_ROWS", 10)

    def broken(self, batch):  # type: ignore[no-untyped-def]
        raise OSError("disk full")

    monkeypatch.setattr(pipeline._BatchWriter, "write", broken)
    with pytest.raises(OSError, match="disk full"):
        ingest_file(feed(write_file, 300), sqlite_url, format="openphish", clock=CLOCK)
    assert indexes(sqlite_url) >= EXPECTED


def test_migrate_restores_indexes_a_killed_load_left_out(sqlite_url: str) -> None:
    with engine_for(sqlite_url).begin() as conn:
        conn.execute(text("DROP INDEX ix_urls_host"))
        conn.execute(text("DROP INDEX ix_notices_url_id"))
    migrate(sqlite_url)
    assert indexes(sqlite_url) >= EXPECTED


def stored(url: str) -> list[tuple]:
    """Every notice as (key, line, run) and every listing as (url, time, notice key)."""
    with session_scope(url) as s:
        notices = s.execute(
            select(Notice.notice_key, Notice.line_no, Notice.ingest_run_id).order_by(Notice.id)
        ).all()
        listings = s.execute(
            select(Observation.url_id, Observation.observed_at, Notice.notice_key)
            .join(Notice, Notice.id == Observation.notice_id)
            .order_by(Observation.id)
        ).all()
    return [*notices, *listings]


def test_a_deferred_load_keeps_the_first_of_notices_it_brings_twice(
    sqlite_url: str,
    urlhaus_history: Callable[[int], Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Half the history held already: the second load brings that half again, with listings."""
    kept_url = f"sqlite:///{tmp_path / 'kept.db'}"
    migrate(kept_url)
    reports = {}
    for url, defer_from in ((kept_url, 10**9), (sqlite_url, 10)):
        monkeypatch.setattr(bulk_indexes, "DEFER_FROM_ROWS", defer_from)
        ingest_file(urlhaus_history(300), url, format="urlhaus-intervals", clock=CLOCK)
        whole = urlhaus_history(1200)  # the same file name: the reader finds its table by it
        reports[url] = ingest_file(whole, url, format="urlhaus-intervals", clock=CLOCK)
    kept, deferred = reports[kept_url], reports[sqlite_url]
    assert (kept.accepted, kept.duplicates) == (900, 300)
    assert (deferred.accepted, deferred.duplicates) == (900, 300)
    assert deferred.observations == kept.observations > 0
    assert stored(sqlite_url) == stored(kept_url)
    assert indexes(sqlite_url) >= EXPECTED
    with session_scope(sqlite_url) as s:
        runs = s.execute(select(IngestRun.accepted, IngestRun.duplicates).order_by(IngestRun.id))
        assert runs.all() == [(300, 0), (900, 300)]


def test_a_deferred_load_of_a_file_with_repeated_lines(
    sqlite_url: str, write_file: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Lines repeated in different batches are one notice, as without deferral."""
    monkeypatch.setattr(bulk_indexes, "DEFER_FROM_ROWS", 10)
    lines = [f"http://n{i}.example.net/x\n" for i in range(300)]
    path = write_file("repeats.txt", "".join(lines + lines[:120]))
    real = pipeline.read_batches
    monkeypatch.setattr(pipeline, "read_batches", lambda job: real(replace(job, batch=100)))
    report = ingest_file(path, sqlite_url, format="openphish", clock=CLOCK, parallel=False)
    assert (report.accepted, report.duplicates) == (300, 120)
    with session_scope(sqlite_url) as s:
        assert s.scalar(select(func.count(func.distinct(Notice.notice_key)))) == 300
        assert s.scalar(select(func.max(Notice.line_no))) == 300  # the first of each kept
    assert indexes(sqlite_url) >= EXPECTED


def test_migrate_removes_what_a_killed_load_inserted_twice(sqlite_url: str) -> None:
    with engine_for(sqlite_url).begin() as conn:
        conn.execute(text("DROP INDEX uq_notices_notice_key"))
        conn.execute(
            text(
                "INSERT INTO urls (id, url, scheme, host, host_type, first_seen_at) "
                "VALUES (1, 'http://a.example/', 'http', 'a.example', 'domain', '2024-01-01')"
            )
        )
        for notice_id in (1, 2, 3):
            conn.execute(
                text(
                    "INSERT INTO notices (id, notice_key, url_id, source, format, received_at, "
                    "raw) VALUES (:id, :key, 1, 's', 'csv', '2024-01-01', 'x')"
                ),
                {"id": notice_id, "key": "k1" if notice_id < 3 else "k3"},
            )
        conn.execute(
            text(
                "INSERT INTO observations (kind, observed_at, source, url_id, host, online, "
                "notice_id) VALUES ('listing', '2024-01-01', 's', 1, 'a.example', 1, 2)"
            )
        )
    migrate(sqlite_url)
    assert indexes(sqlite_url) >= EXPECTED
    with session_scope(sqlite_url) as s:
        assert s.scalars(select(Notice.id).order_by(Notice.id)).all() == [1, 3]
        assert s.scalar(select(func.count()).select_from(Observation)) == 0


def test_intakes_take_turns_and_migrate_leaves_a_running_load_alone(
    sqlite_url: str, write_file: Callable[..., Path]
) -> None:
    engine = engine_for(sqlite_url)
    with engine.begin() as conn:
        conn.execute(text("DROP INDEX ix_urls_host"))
    done = threading.Event()

    def intake() -> None:
        ingest_file(feed(write_file, 20), sqlite_url, format="openphish", clock=CLOCK)
        done.set()

    with intake_lock(engine):  # as a load in progress holds it
        migrate(sqlite_url)
        assert "ix_urls_host" not in indexes(sqlite_url)
        worker = threading.Thread(target=intake)
        worker.start()
        assert not done.wait(0.5)  # waits for its turn
    worker.join(30)
    assert done.is_set() and indexes(sqlite_url) >= EXPECTED
