"""Bulk writers may skip SQLite's foreign-key lookups; nobody else ever does."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from hostwatch.identity import url_id
from hostwatch.model import Notice, Url
from hostwatch.model.db import engine_for, session_scope, trusted_session_scope

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def dangling_notice(key: str) -> Notice:
    return Notice(notice_key=key, url_id=12345, source="s", format="csv", received_at=T0, raw="x")


def test_checks_are_back_on_for_every_later_session(sqlite_url: str) -> None:
    with trusted_session_scope(sqlite_url) as session:
        session.add(dangling_notice("trusted"))  # the caller vouched for its keys
    for _ in range(3):  # whichever pooled connection comes next
        with pytest.raises(IntegrityError), session_scope(sqlite_url) as session:
            session.add(dangling_notice("ordinary"))
    with engine_for(sqlite_url).connect() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 1000
        assert conn.exec_driver_sql("PRAGMA mmap_size").scalar() == 0


def test_bulk_writers_map_the_file(sqlite_url: str) -> None:
    from hostwatch.model.db import BULK_MMAP_BYTES, trusted_connection

    with trusted_connection(engine_for(sqlite_url)) as conn:
        assert conn.exec_driver_sql("PRAGMA mmap_size").scalar() == BULK_MMAP_BYTES
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 0


def test_postgres_keeps_checking(pg_url: str) -> None:
    with pytest.raises(IntegrityError), trusted_session_scope(pg_url) as session:
        session.add(dangling_notice("on-postgres"))


def test_an_error_rolls_the_whole_unit_back(db_url: str) -> None:
    uid = url_id("http://t.example/")
    with pytest.raises(RuntimeError), trusted_session_scope(db_url) as session:
        session.add(
            Url(id=uid, url="http://t.example/", scheme="http", host="t.example",
                host_type="domain", first_seen_at=T0)
        )  # fmt: skip
        session.flush()
        raise RuntimeError("interrupted")
    with session_scope(db_url) as session:
        assert session.scalar(select(func.count()).select_from(Url)) == 0
