"""Bulk ``INSERT ... ON CONFLICT DO NOTHING`` of plain tuples, compiled once per dialect.

SQLAlchemy's per-row parameter handling costs more than SQLite's insert itself at a million
rows, so the statement is compiled once from the dialect's own insert construct and rows go to
the driver's ``executemany`` directly, after the same bind processors SQLAlchemy would apply
(UTC datetimes, JSON).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, Engine, Table

from hostwatch.model.base import UTCDateTime


@lru_cache(maxsize=4096)  # history feeds repeat their snapshot times millions of times
def _sqlite_utc_text(value: datetime) -> str:
    """What UTCDateTime stores in SQLite (naive UTC, microseconds), without its per-call cost."""
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r}: hostwatch stores aware UTC instants")
    if value.utcoffset():
        value = value.astimezone(UTC)
    return value.isoformat(" ", "microseconds")[:26]


class BulkInsert:
    """One prepared insert into ``table`` for rows given as tuples in ``columns`` order."""

    def __init__(
        self, engine: Engine, table: Table, columns: Sequence[str], *, ignore_conflicts: bool
    ) -> None:
        dialect = engine.dialect
        if dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as dialect_insert
        else:
            from sqlalchemy.dialects.sqlite import insert as dialect_insert
        statement = dialect_insert(table)
        if ignore_conflicts:
            statement = statement.on_conflict_do_nothing()
        compiled = statement.compile(dialect=dialect, column_keys=list(columns))
        self.sql = str(compiled)
        self.columns = tuple(columns)
        order = compiled.positiontup
        self.order = [self.columns.index(name) for name in order] if order else None
        processors: list[tuple[int, Callable[[Any], Any]]] = []
        for index, name in enumerate(self.columns):
            column_type = table.c[name].type
            if dialect.name == "sqlite" and isinstance(column_type, UTCDateTime):
                processors.append((index, _sqlite_utc_text))
                continue
            processor = column_type.dialect_impl(dialect).bind_processor(dialect)
            if processor is not None:
                processors.append((index, processor))
        self.processors = processors

    def execute(self, conn: Connection, rows: Sequence[tuple[Any, ...]]) -> None:
        if not rows:
            return
        prepared: list[Any]
        if self.processors:
            prepared = []
            for row in rows:
                values = list(row)
                for index, processor in self.processors:
                    if values[index] is not None:  # SQL NULL, not JSON 'null'
                        values[index] = processor(values[index])
                prepared.append(values)
        else:
            prepared = list(rows)
        if self.order is not None:
            order = self.order
            if order != list(range(len(self.columns))):
                prepared = [tuple(row[i] for i in order) for row in prepared]
            params: list[Any] = prepared
        else:
            columns = self.columns
            params = [dict(zip(columns, row, strict=True)) for row in prepared]
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.executemany(self.sql, params)
        finally:
            cursor.close()
