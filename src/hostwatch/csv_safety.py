"""Every CSV hostwatch writes goes through here: hostile text stays one inert cell.

Reported URLs, references and classifications are written by criminals, and CSV files are opened
in spreadsheets by analysts. Two rules, applied to every text cell of every writer (a test scans
the source for CSV writers that bypass this module):

- A cell that a spreadsheet would evaluate (starting with ``=``, ``+``, ``-``, ``@``, TAB or CR,
  as OWASP lists, or ``|`` and ``%``, which older spreadsheets run as DDE) gets a leading
  apostrophe.
- A cell holding CR or LF is quoted, so it cannot start a new row: Python's ``csv`` module
  quotes only the characters of its own line terminator, and with ``"\\n"`` it left a bare CR
  unquoted (``r\\r=HYPERLINK(...)`` became a second, formula row in a spreadsheet).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:  # polars is imported where a frame is written: lookup must not pay for it
    import polars as pl

FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "|", "%")
_FORMULA_PATTERN = r"^[=+\-@\t\r|%]"


def safe_cell(value: Any) -> Any:
    """A text cell with a formula start neutralised; other values unchanged (None stays None)."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


class SafeWriter:
    """``csv.writer`` with :func:`safe_cell` on every cell and CR/LF always quoted.

    A row with a CR in some cell is formatted with ``"\r\n"`` as the terminator (so that ``csv``
    quotes the cell) and written with ``lineterminator``; other rows go straight through.
    """

    def __init__(self, handle: IO[str], *, lineterminator: str = "\n", **fmt: Any) -> None:
        self._handle = handle
        self._end = lineterminator
        self._direct = csv.writer(handle, lineterminator=lineterminator, **fmt)
        self._row = io.StringIO()
        self._quoting = csv.writer(self._row, lineterminator="\r\n", **fmt)

    def writerow(self, row: Iterable[Any]) -> None:
        cells = [safe_cell(v) for v in row]
        if "\r" in self._end or not any(isinstance(v, str) and "\r" in v for v in cells):
            self._direct.writerow(cells)
            return
        self._row.seek(0)
        self._row.truncate()
        self._quoting.writerow(cells)
        self._handle.write(self._row.getvalue()[:-2] + self._end)

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


class SafeDictWriter:
    """``csv.DictWriter`` over :class:`SafeWriter`: missing keys are empty cells."""

    def __init__(
        self,
        handle: IO[str],
        fieldnames: Sequence[str],
        *,
        lineterminator: str = "\n",
        **fmt: Any,
    ) -> None:
        self.fieldnames = list(fieldnames)
        self._writer = SafeWriter(handle, lineterminator=lineterminator, **fmt)

    def writeheader(self) -> None:
        self._writer.writerow(self.fieldnames)

    def writerow(self, row: Mapping[str, Any]) -> None:
        self._writer.writerow(row.get(name) for name in self.fieldnames)


def safe_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """:func:`safe_cell` over every text column of a Polars frame."""
    import polars as pl

    text = [name for name, dtype in frame.schema.items() if dtype == pl.Utf8]
    return frame.with_columns(
        pl.when(pl.col(c).str.contains(_FORMULA_PATTERN))
        .then(pl.lit("'") + pl.col(c))
        .otherwise(pl.col(c))
        .alias(c)
        for c in text
    )


def write_frame_csv(frame: pl.DataFrame, path: Path | None = None) -> str | None:
    """A Polars frame as safe CSV, to ``path`` or returned as text.

    Polars quotes cells holding CR, LF, the separator or a quote itself; the formula rule is
    applied here.
    """
    safe = safe_frame(frame)
    if path is None:
        return safe.write_csv()
    safe.write_csv(path)
    return None


def csv_text(rows: Iterable[Iterable[Any]], *, lineterminator: str = "\r\n") -> str:
    """Rows (the first one the header) as one safe CSV string, for HTTP responses."""
    out = io.StringIO()
    SafeWriter(out, lineterminator=lineterminator).writerows(rows)
    return out.getvalue()
