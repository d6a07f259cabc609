"""Engines, sessions and migrations, the same for the SQLite file and for PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

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


SQLITE_READ_POOL = 20
"""Connections a process keeps to a SQLite file for reading (and as many again on demand; the
web server runs 16 request threads, ``web.deps.REQUEST_THREADS``): under WAL a reader never
waits for the writer, so every request thread may hold one (a 5-connection pool made 200
readers queue)."""
PG_READ_POOL = 20
"""Connections a process keeps open to PostgreSQL: at least the server's request threads (16),
so that a burst does not open and close a connection (a backend process) per request."""
SQLITE_WRITE_BUSY_MS = 10_000
"""How long a write transaction waits for another process's write lock before it gives up: the
service's writes queue in-process first (see :func:`write_engine_for`), so only another process
(``hostwatch run``, a second server worker) can make it wait at all."""


@cache
def engine_for(url: str) -> Engine:
    url = normalise_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"timeout": 30},
            pool_size=SQLITE_READ_POOL,
            max_overflow=SQLITE_READ_POOL,
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=PG_READ_POOL, max_overflow=10)


def _immediate(dbapi_connection: Any, _record: Any) -> None:
    _sqlite_pragmas(dbapi_connection, _record)
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_WRITE_BUSY_MS}")
    cursor.close()
    dbapi_connection.isolation_level = None  # the driver's own BEGIN would be DEFERRED


@cache
def write_engine_for(url: str) -> Engine:
    """The engine for the service's write units of work, kept apart from the readers' pool.

    On SQLite every transaction on it starts with ``BEGIN IMMEDIATE``: it takes the write lock
    before it reads, so what it reads (a case, the audit chain's tail) cannot change before it
    writes, and a waiting writer waits in SQLite's busy handler instead of failing at once with
    "database is locked" when its read snapshot went stale (what a deferred transaction that
    reads, then writes, does under WAL). PostgreSQL serialises through row locks instead
    (:func:`lock_row`) and shares the readers' engine.
    """
    url = normalise_url(url)
    if not url.startswith("sqlite"):
        return engine_for(url)
    engine = create_engine(url, connect_args={"timeout": 30}, pool_size=2, max_overflow=2)
    event.listen(engine, "connect", _immediate)

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


@cache
def probe_engine_for(url: str) -> Engine:
    """One connection of its own for health checks: "does the database answer" must not queue
    behind the requests that hold the readers' pool."""
    url = normalise_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 5}, pool_size=1, max_overflow=0)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=1, max_overflow=0, pool_timeout=5)


@cache
def write_session_factory(url: str) -> sessionmaker[Session]:
    """Sessions for one short write unit of work each (see :func:`write_engine_for`)."""
    return sessionmaker(write_engine_for(url), expire_on_commit=False)


def lock_row(session: Session, entity: Any, key: object) -> bool:
    """Lock one row for the rest of the transaction (``SELECT ... FOR UPDATE``); False if absent.

    On PostgreSQL two requests changing the same row then take turns instead of one failing on
    the row's version (``StaleDataError``); SQLite has no row locks and ignores the clause, its
    write transactions being serialised whole.
    """
    column = entity.__mapper__.primary_key[0]
    return session.scalar(select(column).where(column == key).with_for_update()) is not None


_CONTENTION_SQLSTATES = ("40001", "40P01", "55P03")  # serialization, deadlock, lock not available


def is_contention(exc: BaseException) -> bool:
    """Whether ``exc`` means "another writer held what this one needed": worth a retry later.

    SQLite's "database is locked" / "busy" after its busy timeout, PostgreSQL's serialization
    failures, deadlocks and lock timeouts, and an optimistic version check that lost.
    """
    if isinstance(exc, StaleDataError):
        return True
    if not isinstance(exc, DBAPIError):
        return False
    sqlstate = getattr(exc.orig, "sqlstate", None)
    if sqlstate in _CONTENTION_SQLSTATES:
        return True
    text = str(exc.orig).lower()
    return "database is locked" in text or "database is busy" in text


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
