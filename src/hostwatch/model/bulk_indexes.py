"""Secondary indexes of the intake tables, set aside while a large file is loaded into SQLite.

Maintaining an index row by row costs SQLite about as much as the insert itself (random keys:
hosts, domains, URL ids); building it once from the finished table is a sort, several times
cheaper. So a load that brings more rows than the tables hold drops the non-unique indexes of
``urls`` and ``notices`` and builds them again at the end. The unique ones stay: they are what
makes intake idempotent. Should the process die in between, :func:`restore_indexes` (run by every
intake and by ``migrate``) puts them back; until then queries are slower, never wrong.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, Index, func, select
from sqlalchemy.schema import CreateIndex, DropIndex

from hostwatch.model.notice import Notice
from hostwatch.model.url import Url

DEFER_FROM_ROWS = 200_000  # below this, dropping and rebuilding costs more than it saves


def deferrable_indexes() -> list[Index]:
    """The non-unique indexes of the tables intake fills."""
    return [
        index
        for table in (Url.__table__, Notice.__table__)
        for index in sorted(table.indexes, key=lambda ix: str(ix.name))
        if not index.unique
    ]


def restore_indexes(engine: Engine) -> None:
    """Create any deferrable index that is missing (a no-op when all are there)."""
    if engine.dialect.name != "sqlite":
        return
    with engine.begin() as conn:
        for index in deferrable_indexes():
            conn.execute(CreateIndex(index, if_not_exists=True))


@contextmanager
def indexes_deferred(engine: Engine, expected_rows: int) -> Iterator[bool]:
    """Drop the deferrable indexes for a load of ``expected_rows`` if that pays; says whether."""
    defer = engine.dialect.name == "sqlite" and expected_rows >= DEFER_FROM_ROWS
    if defer:
        with engine.connect() as conn:
            held = conn.execute(select(func.coalesce(func.max(Notice.id), 0))).scalar_one()
        defer = expected_rows > held
    if not defer:
        yield False
        return
    with engine.begin() as conn:
        for index in deferrable_indexes():
            conn.execute(DropIndex(index, if_exists=True))
    try:
        yield True
    finally:
        restore_indexes(engine)
