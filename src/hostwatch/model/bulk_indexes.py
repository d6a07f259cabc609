"""Indexes of the intake tables, set aside while a large file is loaded into SQLite.

Maintaining an index row by row costs SQLite about as much as the insert itself (random keys:
notice digests, hosts, domains, URL ids); building it once from the finished table is a sort,
several times cheaper. So a load that brings more rows than the tables hold drops the indexes of
``urls`` and ``notices`` (all but the URL primary key) and builds them again at the end, the
sort spread over two threads.

Without its unique index the notices table takes a key twice, which ``ON CONFLICT DO NOTHING``
would have skipped. So intakes into one SQLite database take turns (:func:`intake_lock`), and
before the unique index is built again the end of a load removes the notices it inserted twice
(a line repeated in the file, a notice the database held already), keeping the first, with the
listings written for them. A load that dies in between leaves this to the next intake or
``migrate`` (:func:`restore_indexes`); until then queries may see the dead load's duplicates.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, Index, func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.schema import CreateIndex, DropIndex

from hostwatch.model.notice import Notice
from hostwatch.model.url import Url

DEFER_FROM_ROWS = 200_000  # below this, dropping and rebuilding costs more than it saves
SORT_THREADS = 2  # SQLite's sorter threads for building an index
# The page cache while building: SQLite sorts in runs of about this size, in parallel on the
# sorter threads, and merges them. The bulk writer's large cache made it one run of the whole
# index, sorted on one thread out of the CPU caches: 7 s instead of 4 s per million notices.
SORT_CACHE_KIB = 2000


@dataclass
class Deferral:
    """Whether a load set its indexes aside, and how many listings its end removed with the
    notices it had inserted twice."""

    active: bool
    removed_listings: int = 0


def deferrable_indexes() -> list[Index]:
    """The indexes of the tables intake fills that a load may set aside (all but primary keys)."""
    return [
        index
        for table in (Url.__table__, Notice.__table__)
        for index in sorted(table.indexes, key=lambda ix: str(ix.name))
    ]


def _database_file(engine: Engine) -> str | None:
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        return None
    return database


@contextmanager
def intake_lock(engine: Engine, *, wait: bool = True) -> Iterator[bool]:
    """Hold the intake turn of a SQLite database file; yields whether it is held.

    A lock file beside the database (never the database itself: closing a descriptor of it would
    release SQLite's own locks); the system frees it when a holder dies. Other databases need no
    turn and always get one.
    """
    path = _database_file(engine)
    if path is None:
        yield True
        return
    with open(f"{path}.intake-lock", "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def restore_indexes(engine: Engine) -> int:
    """Create every deferrable index that is missing, removing notices a dead or finishing load
    inserted twice first; returns how many listings went with them. Call with the intake turn.

    One transaction for all of them: one commit, one checkpoint of what they wrote.
    """
    if engine.dialect.name != "sqlite":
        return 0
    removed = 0
    with engine.connect() as conn:
        present = set(
            conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'index'")).scalars()
        )
        missing = [index for index in deferrable_indexes() if index.name not in present]
        if not missing:
            return 0
        conn.exec_driver_sql(f"PRAGMA threads={SORT_THREADS}")
        conn.exec_driver_sql(f"PRAGMA cache_size=-{SORT_CACHE_KIB}")
        conn.exec_driver_sql("BEGIN IMMEDIATE")
        for index in missing:
            if not index.unique:
                conn.execute(CreateIndex(index))
                continue
            conn.exec_driver_sql("SAVEPOINT unique_keys")
            try:
                conn.execute(CreateIndex(index))
            except IntegrityError:
                conn.exec_driver_sql("ROLLBACK TO unique_keys")
                removed += _remove_doubled_notices(conn)
                conn.execute(CreateIndex(index))
            conn.exec_driver_sql("RELEASE unique_keys")
        conn.commit()
    return removed


def _remove_doubled_notices(conn: Connection) -> int:
    """Delete every notice whose key an earlier notice holds, and the rows that name it."""
    conn.execute(
        text(
            "CREATE TEMP TABLE doubled_notices AS SELECT id FROM notices WHERE id NOT IN "
            "(SELECT min(id) FROM notices GROUP BY notice_key)"
        )
    )
    doubled = "(SELECT id FROM temp.doubled_notices)"
    listings = conn.execute(text(f"DELETE FROM observations WHERE notice_id IN {doubled}"))
    conn.execute(text(f"DELETE FROM attributions WHERE notice_id IN {doubled}"))
    conn.execute(text(f"DELETE FROM notices WHERE id IN {doubled}"))
    conn.execute(text("DROP TABLE temp.doubled_notices"))
    return listings.rowcount


@contextmanager
def indexes_deferred(engine: Engine, expected_rows: int) -> Iterator[Deferral]:
    """Drop the deferrable indexes for a load of ``expected_rows`` if that pays. Call with the
    intake turn (:func:`intake_lock`), which keeps other loads out while keys are not unique."""
    defer = _database_file(engine) is not None and expected_rows >= DEFER_FROM_ROWS
    if defer:
        with engine.connect() as conn:
            held = conn.execute(select(func.coalesce(func.max(Notice.id), 0))).scalar_one()
        defer = expected_rows > held
    deferral = Deferral(defer)
    if not defer:
        yield deferral
        return
    with engine.begin() as conn:
        for index in deferrable_indexes():
            conn.execute(DropIndex(index, if_exists=True))
    try:
        yield deferral
    finally:
        deferral.removed_listings = restore_indexes(engine)
