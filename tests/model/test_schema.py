"""The migrations build exactly the schema the models declare, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hostwatch.identity import url_id
from hostwatch.model import AuditEvent, Base, Notice, Url
from hostwatch.model.audit import record
from hostwatch.model.audit_verify import verify_log
from hostwatch.model.db import engine_for, session_scope

T0 = datetime(2024, 3, 1, 10, 0, tzinfo=UTC)


def test_migrations_match_models(db_url: str) -> None:
    with engine_for(db_url).connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_instants_come_back_aware_utc(db_url: str) -> None:
    plus_two = T0.astimezone(__import__("datetime").timezone(timedelta(hours=2)))
    with session_scope(db_url) as s:
        s.add(
            Url(
                id=1,
                url="http://a.example/",
                scheme="http",
                host="a.example",
                host_type="domain",
                first_seen_at=plus_two,
            )
        )
    with session_scope(db_url) as s:
        got = s.scalar(select(Url.first_seen_at))
    assert got == T0 and got.tzinfo is not None and got.utcoffset() == timedelta(0)


def test_naive_instants_are_refused(db_url: str) -> None:
    with pytest.raises(Exception, match="naive datetime"), session_scope(db_url) as s:
        s.add(
            Url(
                id=2,
                url="http://b.example/",
                scheme="http",
                host="b.example",
                host_type="domain",
                first_seen_at=datetime(2024, 1, 1),
            )
        )


def test_notice_key_is_unique(db_url: str) -> None:
    uid = url_id("http://c.example/")
    with session_scope(db_url) as s:
        s.add(
            Url(
                id=uid,
                url="http://c.example/",
                scheme="http",
                host="c.example",
                host_type="domain",
                first_seen_at=T0,
            )
        )
        s.flush()
        s.add(
            Notice(
                notice_key="k" * 64,
                url_id=uid,
                source="s",
                format="csv",
                received_at=T0,
                raw="http://c.example/",
            )
        )
    with pytest.raises(IntegrityError), session_scope(db_url) as s:
        s.add(
            Notice(
                notice_key="k" * 64,
                url_id=uid,
                source="s",
                format="csv",
                received_at=T0,
                raw="again",
            )
        )


def test_url_ids_are_stable_and_positive() -> None:
    assert url_id("http://example.com/") == url_id("http://example.com/")
    assert url_id("http://example.com/") != url_id("http://example.com/x")
    assert 0 < url_id("http://example.com/") < 2**63


def _event(session: Session, i: int, **details: Any) -> None:
    record(
        session,
        at=T0 + timedelta(minutes=i),
        actor="test",
        action="case.state",
        object_type="case",
        object_id=i,
        **details,
    )


def test_audit_chain_detects_tampering(db_url: str) -> None:
    with session_scope(db_url) as s:
        for i in range(5):
            _event(s, i, reason=f"step {i}", data={"to": "notified"})
    with session_scope(db_url) as s:
        assert verify_log(s, None).intact
        third = s.scalars(select(AuditEvent).order_by(AuditEvent.id).offset(2).limit(1)).one()
        third.reason = "rewritten history"
    with session_scope(db_url) as s:
        breaks = verify_log(s, None).problems
    assert [(b.index, b.message) for b in breaks] == [
        (2, "hash does not match the event's content")
    ]


def test_audit_chain_holds_across_savepoints_and_other_writers(db_url: str) -> None:
    """Later events of a transaction chain onto its last one without reading the tail again;
    an event rolled back with a savepoint, or appended by another session in between
    transactions, must not fork the chain."""

    with session_scope(db_url) as s:
        _event(s, 0)
        savepoint = s.begin_nested()
        _event(s, 1)
        savepoint.rollback()
        _event(s, 2)
        _event(s, 3)
        s.commit()
        with session_scope(db_url) as other:
            _event(other, 4)
        _event(s, 5)
        _event(s, 6)
    with session_scope(db_url) as s:
        assert verify_log(s, None).problems == []
        ids = [int(e.object_id) for e in s.scalars(select(AuditEvent).order_by(AuditEvent.id))]
    assert ids == [0, 2, 3, 4, 5, 6]


def test_new_sqlite_files_get_large_pages_and_old_ones_keep_theirs(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import sqlite3

    from hostwatch.model.db import SQLITE_PAGE_BYTES, migrate

    new, old = tmp_path / "new.db", tmp_path / "old.db"
    with sqlite3.connect(old) as conn:  # a file made before the setting: 4 KiB pages
        conn.execute("PRAGMA page_size=4096")
        conn.execute("CREATE TABLE made_before (x)")
    for path in (new, old):
        migrate(f"sqlite:///{path}")
        with session_scope(f"sqlite:///{path}") as s:
            s.add(Url(id=url_id("http://a.example/"), url="http://a.example/", scheme="http",
                      host="a.example", host_type="domain", first_seen_at=T0))  # fmt: skip
    sizes = {}
    for path in (new, old):
        with sqlite3.connect(path) as conn:
            sizes[path.name] = conn.execute("PRAGMA page_size").fetchone()[0]
            assert conn.execute("SELECT count(*) FROM urls").fetchone()[0] == 1
    assert sizes == {"new.db": SQLITE_PAGE_BYTES, "old.db": 4096}
