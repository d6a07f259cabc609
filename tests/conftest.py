"""Fixtures shared by all tests: the real-data folder, settings, databases."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from hostwatch.settings import Settings

REPO = Path(__file__).resolve().parent.parent


def shared_data_dir() -> Path:
    """The folder of real public datasets, from the one setting HOSTWATCH_TEST_DATA."""
    return Path(os.environ.get("HOSTWATCH_TEST_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    path = shared_data_dir()
    if not (path / "README.md").exists():
        pytest.fail(f"real datasets not found at {path}; set HOSTWATCH_TEST_DATA")
    return path


PG_SERVER = os.environ.get("HOSTWATCH_TEST_PG", "postgresql://postgres@127.0.0.1:5432")


def _pg_admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
        conn.execute(sql)


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    """A database migrated once per test run; each test gets a fresh copy of it."""
    from hostwatch.model.db import engine_for, migrate

    name = f"hw_tmpl_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    _pg_admin(f'CREATE DATABASE "{name}"')
    url = f"{PG_SERVER}/{name}"
    migrate(url)
    engine_for(url).dispose()
    yield name
    _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def pg_url(pg_template: str) -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for one test, dropped afterwards."""
    from hostwatch.model.db import engine_for

    name = f"hw_{os.getpid()}_{uuid.uuid4().hex[:10]}"
    _pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "{pg_template}"')
    url = f"{PG_SERVER}/{name}"
    yield url
    engine_for(url).dispose()
    _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A fresh, migrated SQLite file for one test."""
    from hostwatch.model.db import migrate

    url = f"sqlite:///{tmp_path / 'hostwatch.db'}"
    migrate(url)
    return url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    """The same test on both databases the project supports."""
    return request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")


@pytest.fixture
def settings(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings for one test: its own database, state folder and outbox; nothing from the host."""
    from hostwatch.settings import configure

    monkeypatch.setenv("HOSTWATCH_CONFIG", str(tmp_path / "absent.toml"))
    monkeypatch.setenv("HOSTWATCH_DATABASE_URL", db_url)
    monkeypatch.setenv("HOSTWATCH_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("HOSTWATCH_OUTBOX_DIR", str(tmp_path / "outbox"))
    return configure()
