"""Engines, sessions and migrations, the same for the SQLite file and for PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).parent / "migrations"


SQLITE_PAGE_BYTES = 8192
"""Page size of a new database file: a million-notice intake took 7% less CPU to write and
its index rebuild 20% less time than with SQLite's 4 KiB (16 KiB made the rebuild slower)."""


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # The page size applies only to a file that holds nothing yet, and only before WAL is set.
    # WAL lets readers (the report, the API) work while a writer ingests; foreign keys are off by
    # default in SQLite; busy_timeout makes in-process workers wait instead of failing.
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA page_size={SQLITE_PAGE_BYTES}")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def normalise_url(url: str) -> str:
    """Use psycopg 3 for plain ``postgresql://`` URLs; that is the driver hostwatch ships."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


@cache
def engine_for(url: str) -> Engine:
    url = normalise_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


def alembic_config(url: str) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", normalise_url(url).replace("%", "%%"))
    return config


def migrate(url: str, revision: str = "head") -> None:
    """Bring the schema to ``revision``; safe to call on every start."""
    from alembic import command

    engine = engine_for(url)
    config = alembic_config(url)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
    if revision == "head":
        from hostwatch.model.bulk_indexes import intake_lock, restore_indexes

        with intake_lock(engine, wait=False) as ours:
            if ours:  # else an intake is loading, and restores them when it ends
                restore_indexes(engine)  # after an intake that died with its indexes set aside


@cache
def session_factory(url: str) -> sessionmaker[Session]:
    """One factory per database: each ``sessionmaker`` builds a Session class of its own, and
    making one per unit of work cost more than the work in a workflow pass."""
    return sessionmaker(engine_for(url), expire_on_commit=False)


@contextmanager
def unit_of_work(session: Session) -> Iterator[Session]:
    """Commit ``session`` on success, roll it back on any error, close it either way."""
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def session_scope(url: str) -> AbstractContextManager[Session]:
    """One unit of work: commit on success, roll back on any error."""
    return unit_of_work(session_factory(url)())


# WAL pages before a commit checkpoints: SQLite's default (1,000 pages, 4 MB) made bulk writers
# checkpoint at every batch, rewriting the same index pages again and again.
BULK_WAL_PAGES = 65536
DEFAULT_WAL_PAGES = 1000
# Bulk writers read the file through a memory map instead of copying each page they revisit
# (index pages of random keys): 5% less CPU for a million-notice intake. Only for them, and
# only while they write: SQLite leaves memory mapping off by default for everyone else.
BULK_MMAP_BYTES = 1 << 30


@contextmanager
def trusted_connection(engine: Engine) -> Iterator[Connection]:
    """A connection for bulk writers: no foreign-key lookups, a WAL checkpoint every 512 MB,
    the file memory-mapped.

    A bulk writer that inserts the parents it references in the same transaction (intake's URLs
    before its notices, attribution's providers before its rows) holds the keys by construction;
    the lookups cost SQLite a third of such an insert. PostgreSQL checks as always, and the
    connection goes back to the pool with SQLite's usual settings again.
    """
    with engine.connect() as connection:
        sqlite = engine.dialect.name == "sqlite"
        if sqlite:  # only takes effect outside a transaction: first thing on the connection
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.exec_driver_sql(f"PRAGMA wal_autocheckpoint={BULK_WAL_PAGES}")
            connection.exec_driver_sql(f"PRAGMA mmap_size={BULK_MMAP_BYTES}")
            connection.commit()
        try:
            yield connection
        finally:
            if sqlite:
                connection.rollback()
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                connection.exec_driver_sql(f"PRAGMA wal_autocheckpoint={DEFAULT_WAL_PAGES}")
                connection.exec_driver_sql("PRAGMA mmap_size=0")
                connection.commit()


@contextmanager
def trusted_session_scope(url: str) -> Iterator[Session]:
    """:func:`session_scope` on a :func:`trusted_connection`: commit on success, else roll back."""
    with (
        trusted_connection(engine_for(url)) as connection,
        unit_of_work(Session(bind=connection, expire_on_commit=False)) as session,
    ):
        yield session
