"""Query results as Polars frames without a Python object per row: the frame's transport.

The frame of a million cases reads tens of millions of check rows. Through the driver's cursor
every row becomes a Python tuple of Python objects before Polars sees it, and that, not the
database, cost most of the 46 s per million cases. So each database is read in its own columnar
way, with the very same SQL (and so the very same values):

* **PostgreSQL**: ``COPY (query) TO STDOUT`` as CSV through the caller's own psycopg connection
  (same transaction, same snapshot), parsed by Polars' multi-threaded CSV reader;
* **SQLite**: the ADBC SQLite driver (Apache Arrow), which steps the statement in C and fills
  Arrow arrays, on a read-only connection of its own to the same file, all queries of one frame
  in one read transaction. The driver infers a column's type from the rows of a batch, so the
  whole result is read as one batch (a column NULL in its first thousand rows is still text).
  A connection that holds uncommitted writes, or an in-memory database, cannot be seen from
  another connection: it is read through its own cursor, row by row, as before.
"""

from __future__ import annotations

import io
from typing import Any

import polars as pl
from sqlalchemy.engine import Connection

#: Rows per ADBC batch: all of them, so that types are inferred from every row (see above).
_ONE_BATCH = str(2**31 - 2)  # the largest the driver accepts


def wire_type(dtype: Any) -> Any:
    """Booleans travel as small integers (both databases spell them differently)."""
    return pl.Int8 if dtype == pl.Boolean else dtype


class FrameReader:
    """Reads SQLAlchemy queries into frames of a given schema over one database connection."""

    def __init__(self, conn: Connection, *, columnar: bool = True) -> None:
        self.conn = conn
        self._adbc: Any = None
        dialect = conn.dialect.name
        if not columnar:
            self._read = self._rows
        elif dialect == "postgresql":
            self._read = self._copy
        elif dialect == "sqlite" and _separately_readable(conn):
            from urllib.parse import quote

            import adbc_driver_sqlite.dbapi

            path = quote(conn.engine.url.database or "")
            self._adbc = adbc_driver_sqlite.dbapi.connect(f"file:{path}?mode=ro")
            self._read = self._arrow
        else:
            self._read = self._rows

    def read(self, query: Any, schema: dict[str, Any]) -> pl.DataFrame:
        """Run ``query``; columns are named and typed by ``schema``, in its order."""
        wire = {name: wire_type(dtype) for name, dtype in schema.items()}
        return self._read(query, wire).cast(schema)

    def close(self) -> None:
        if self._adbc is not None:
            self._adbc.close()
            self._adbc = None

    def __enter__(self) -> FrameReader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _compiled(self, query: Any) -> tuple[str, Any]:
        # render_postcompile: an IN list becomes one placeholder per value, as every driver takes
        compiled = query.compile(
            dialect=self.conn.dialect, compile_kwargs={"render_postcompile": True}
        )
        params: Any = compiled.params
        if compiled.positional:
            params = tuple(params[name] for name in compiled.positiontup or ())
        return str(compiled), params

    def _rows(self, query: Any, wire: dict[str, Any]) -> pl.DataFrame:
        sql, params = self._compiled(query)
        cursor = self.conn.connection.cursor()
        try:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        finally:
            cursor.close()
        return pl.DataFrame(rows, schema=wire, orient="row")

    def _arrow(self, query: Any, wire: dict[str, Any]) -> pl.DataFrame:
        sql, params = self._compiled(query)
        cursor = self._adbc.cursor()
        try:
            cursor.adbc_statement.set_options(**{"adbc.sqlite.query.batch_rows": _ONE_BATCH})
            cursor.execute(sql, params or None)
            table = cursor.fetch_arrow_table()
        finally:
            cursor.close()
        frame = pl.from_arrow(table, rechunk=False)
        assert isinstance(frame, pl.DataFrame)
        frame.columns = list(wire)
        # an all-NULL column arrives as integers: the cast to the schema makes it what it is
        return frame.cast(wire)

    def _copy(self, query: Any, wire: dict[str, Any]) -> pl.DataFrame:
        sql, params = self._compiled(query)
        raw = self.conn.connection.driver_connection
        assert raw is not None
        buffer = io.BytesIO()
        with raw.cursor() as cursor:
            statement = f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)"
            with cursor.copy(statement, params or None) as copy:
                for chunk in copy:
                    buffer.write(chunk)
        if not buffer.tell():
            return pl.DataFrame(schema=wire)
        buffer.seek(0)
        # unquoted empty field = NULL, quoted "" = empty text: Polars reads them so
        return pl.read_csv(
            buffer,
            has_header=False,
            new_columns=list(wire),
            schema=wire,
            quote_char='"',
        )


def _separately_readable(conn: Connection) -> bool:
    """A SQLite file whose connection holds no uncommitted writes another could miss."""
    database = conn.engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return False
    raw = conn.connection.dbapi_connection
    return not getattr(raw, "in_transaction", True)
