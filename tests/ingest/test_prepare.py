"""Rows intake builds for SQLite without the database layer store what SQLAlchemy stores."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import insert, null, select, text

from hostwatch.clock import Clock
from hostwatch.ingest.pipeline import ingest_file
from hostwatch.model import IngestRun, Notice, Url
from hostwatch.model.db import engine_for, migrate, session_scope

CLOCK = Clock.at("2024-05-01T12:00:00Z")
STORED = {
    "urls": "SELECT id, url, host, registered_domain, first_seen_at FROM urls ORDER BY id",
    "notices": "SELECT notice_key, url_id, received_at, extra, reported_ip, raw FROM notices "
    "ORDER BY notice_key",
}


def intelmq_events() -> str:
    events = [
        {
            "source.url": "http://shop.example.co.uk/pay",
            "time.source": "2024-04-30T23:15:00.5+02:00",  # an offset, a fraction of a second
            "source.ip": "192.0.2.7",
            "feed.name": "Hotline Ö",
            "event_description.text": 'Zahlung — bestätigen "jetzt"',  # non-ASCII, quotes
            "source.geolocation.cc": "DE",
        },
        {"source.url": "http://[2001:db8::1]/x", "time.source": "2024-04-30T10:00:00Z"},
        {"source.url": "https://b.example.org/"},  # no time: the run's instant
    ]
    return "\n".join(json.dumps(event, ensure_ascii=False) for event in events) + "\n"


def stored_text(url: str) -> dict[str, list[tuple]]:
    """The values as SQLite holds them, below SQLAlchemy's result processing."""
    with engine_for(url).connect() as conn:
        return {name: conn.execute(text(sql)).all() for name, sql in STORED.items()}


def test_sqlite_rows_match_what_sqlalchemy_binds(
    sqlite_url: str, write_file: Callable[..., Path], tmp_path: Path
) -> None:
    path = write_file("events.jsonl", intelmq_events())
    ingest_file(path, sqlite_url, format="intelmq", clock=CLOCK)
    with session_scope(sqlite_url) as s:
        urls = [
            {c.key: getattr(u, c.key) for c in Url.__table__.columns}
            for u in s.scalars(select(Url))
        ]
        notices = [
            {c.key: getattr(n, c.key) for c in Notice.__table__.columns if c.key != "id"}
            for n in s.scalars(select(Notice))
        ]
    assert len(urls) == len(notices) == 3
    assert any(
        n["extra"] and n["extra"]["event_description.text"] == 'Zahlung — bestätigen "jetzt"'
        for n in notices
    )
    # The same values written again through SQLAlchemy's own binding, into a second database;
    # an absent ``extra`` is SQL NULL in intake, where SQLAlchemy would bind JSON 'null'.
    for notice in notices:
        notice["extra"] = null() if notice["extra"] is None else notice["extra"]
    again = f"sqlite:///{tmp_path / 'again.db'}"
    migrate(again)
    with engine_for(again).begin() as conn:
        conn.execute(insert(IngestRun), [{"id": notices[0]["ingest_run_id"], "source": "s",
                                          "format": "intelmq", "path": "p",
                                          "started_at": CLOCK.now()}])  # fmt: skip
        conn.execute(insert(Url), urls)
        conn.execute(insert(Notice), notices)
    assert stored_text(again) == stored_text(sqlite_url)


def test_sqlite_reader_process_starts_without_the_database_layer() -> None:
    """The reader processes of a large SQLite load import no SQLAlchemy: it took them a second
    to load, during which the writer had nothing to insert."""
    probe = (
        "import sys; from hostwatch.ingest.handoff import serve; print('sqlalchemy' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
