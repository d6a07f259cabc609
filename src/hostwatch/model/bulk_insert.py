"""Bulk ``INSERT ... ON CONFLICT DO NOTHING`` of plain tuples, compiled once per dialect.

SQLAlchemy's per-row parameter handling costs more than SQLite's insert itself at a million
rows, so the statement is compiled once from the dialect's own insert construct and rows go to
the driver's ``executemany`` directly, after the same bind processors SQLAlchemy would apply
(UTC datetimes, JSON). Preparing rows needs only the dialect, not a connection, so it can happen
in another process than the insert (as intake does, :mod:`hostwatch.ingest.handoff`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Dialect, Table, literal_column

from hostwatch.model.base import UTCDateTime
from hostwatch.utc_text import sqlite_utc_text


class BulkInsert:
    """One prepared insert into ``table`` for rows given as tuples in ``columns`` order.

    ``constants`` are columns with one value for every row of this statement (the intake run),
    written into the SQL once instead of bound per row.
    """

    def __init__(
        self,
        dialect: Dialect,
        table: Table,
        columns: Sequence[str],
        *,
        ignore_conflicts: bool,
        constants: Mapping[str, int] | None = None,
    ) -> None:
        if dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as dialect_insert
        else:
            from sqlalchemy.dialects.sqlite import insert as dialect_insert
        statement = dialect_insert(table)
        if constants:
            statement = statement.values(
                {name: literal_column(str(int(value))) for name, value in constants.items()}
            )
        if ignore_conflicts:
            statement = statement.on_conflict_do_nothing()
        compiled = statement.compile(dialect=dialect, column_keys=list(columns))
        self.sql = str(compiled)
        self.columns = tuple(columns)
        order = compiled.positiontup
        self.order = [self.columns.index(name) for name in order] if order else None
        self.dict_params = not order
        processors: list[tuple[int, Callable[[Any], Any]]] = []
        for index, name in enumerate(self.columns):
            column_type = table.c[name].type
            if dialect.name == "sqlite" and isinstance(column_type, UTCDateTime):
                processors.append((index, sqlite_utc_text))
                continue
            processor = column_type.dialect_impl(dialect).bind_processor(dialect)
            if processor is not None:
                processors.append((index, processor))
        self.processors = processors

    def prepare(self, rows: Sequence[tuple[Any, ...]]) -> list[Any]:
        """Driver parameters for ``rows``: bind processors applied, in the statement's order."""
        prepared: list[Any]
        if self.processors:
            prepared = []
            for row in rows:
                values = list(row)
                for index, processor in self.processors:
                    if values[index] is not None:  # SQL NULL, not JSON 'null'
                        values[index] = processor(values[index])
                prepared.append(tuple(values))  # tuples: a third of a list's unpickling cost
        else:
            prepared = list(rows)
        if self.dict_params:
            columns = self.columns
            return [dict(zip(columns, row, strict=True)) for row in prepared]
        order = self.order
        if order is not None and order != list(range(len(self.columns))):
            prepared = [tuple(row[i] for i in order) for row in prepared]
        return prepared

    def run(self, conn: Connection, params: list[Any]) -> None:
        """Insert rows already made ready by :meth:`prepare` (possibly in another process)."""
        if not params:
            return
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.executemany(self.sql, params)
        finally:
            cursor.close()

    def execute(self, conn: Connection, rows: Sequence[tuple[Any, ...]]) -> None:
        self.run(conn, self.prepare(rows))
