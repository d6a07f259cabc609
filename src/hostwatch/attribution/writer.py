"""Bulk writing of attribution rows: the fastest path each database offers.

A batch writes a million rows, so the ORM's per-row bookkeeping (and re-encoding the same JSON a
million times) would cost more than the attribution itself. The chain hands over tuples with the
JSON columns already encoded; SQLite gets one ``executemany`` of a plain INSERT, PostgreSQL a
``COPY``. Instants are written as UTC the way :class:`~hostwatch.model.base.UTCDateTime` stores
them on each database, so the ORM reads them back unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from hostwatch.attribution.record import COLUMNS
from hostwatch.model import Attribution

_AT, _COMPUTED_AT = COLUMNS.index("at"), COLUMNS.index("computed_at")
assert _COMPUTED_AT == _AT + 1, "the writer splices the two instants as neighbours"
_TABLE = Attribution.__tablename__


def sqlite_instant(value: datetime) -> str:
    """An instant as UTCDateTime stores it in SQLite."""
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return value.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


def write_rows(session: Session, rows: Sequence[tuple]) -> None:
    """Insert attribution rows (tuples in ``COLUMNS`` order) inside the session's transaction.

    On SQLite the two instants may already be given as the stored text (see :mod:`.batch`).
    """
    if not rows:
        return
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        _copy_postgresql(connection, rows)
        return
    if isinstance(rows[0][_AT], str) and isinstance(rows[0][_COMPUTED_AT], str):
        prepared: Sequence[tuple] = rows  # instants already in SQLite's stored form
    else:
        prepared = _with_instant_texts(rows)
    # a large page cache keeps the three indexes' random inserts off the disk
    connection.exec_driver_sql("PRAGMA cache_size=-131072")
    placeholders = ", ".join("?" for _ in COLUMNS)
    sql = f"INSERT INTO {_TABLE} ({', '.join(COLUMNS)}) VALUES ({placeholders})"
    connection.exec_driver_sql(sql, prepared)


def _with_instant_texts(rows: Sequence[tuple]) -> list[tuple]:
    stamps: dict[datetime, str] = {}
    prepared = []
    for row in rows:
        at, computed = row[_AT], row[_COMPUTED_AT]
        at_text = stamps.get(at) or stamps.setdefault(at, sqlite_instant(at))
        computed_text = stamps.get(computed) or stamps.setdefault(
            computed, sqlite_instant(computed)
        )
        prepared.append((*row[:_AT], at_text, computed_text, *row[_COMPUTED_AT + 1 :]))
    return prepared


def _copy_postgresql(connection, rows: Sequence[tuple]) -> None:  # type: ignore[no-untyped-def]
    raw = connection.connection.driver_connection
    sql = f"COPY {_TABLE} ({', '.join(COLUMNS)}) FROM STDIN"
    with raw.cursor() as cursor, cursor.copy(sql) as copy:
        for row in rows:
            copy.write_row(row)
