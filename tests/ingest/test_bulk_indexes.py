"""A large load into SQLite sets the non-unique indexes aside and always ends with all of them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import text

from hostwatch.clock import Clock
from hostwatch.ingest import pipeline
from hostwatch.ingest.pipeline import ingest_file
from hostwatch.model import bulk_indexes
from hostwatch.model.bulk_indexes import deferrable_indexes
from hostwatch.model.db import engine_for, migrate

CLOCK = Clock.at("2024-05-01T12:00:00Z")
EXPECTED = {
    "ix_notices_received_at",
    "ix_notices_url_id",
    "ix_urls_host",
    "ix_urls_registered_domain",
}


def indexes(url: str) -> set[str]:
    with engine_for(url).connect() as conn:
        rows = conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'index'"))
        return {name for (name,) in rows if not name.startswith("sqlite_autoindex")}


def feed(write_file: Callable[..., Path], lines: int, name: str = "feed.txt") -> Path:
    return write_file(name, "".join(f"http://n{i}.example.net/x\n" for i in range(lines)))


def test_the_deferrable_indexes_are_the_non_unique_ones() -> None:
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
