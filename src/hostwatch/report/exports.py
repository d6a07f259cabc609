"""Exports next to the report: the full case table and the pseudonymised researcher table.

CSV cells that a spreadsheet would run as a formula (starting with = + - @, tab or carriage
return) get a leading apostrophe: reported URLs are written by criminals, and this file is opened
by analysts.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from hostwatch.metrics.pseudonymise import pseudonymise_frame

_FORMULA_START = r"^[=+\-@\t\r]"


def spreadsheet_safe(frame: pl.DataFrame) -> pl.DataFrame:
    """Neutralise cells that spreadsheets would evaluate as formulas."""
    text = [name for name, dtype in frame.schema.items() if dtype == pl.Utf8]
    return frame.with_columns(
        pl.when(pl.col(c).str.contains(_FORMULA_START))
        .then(pl.lit("'") + pl.col(c))
        .otherwise(pl.col(c))
        .alias(c)
        for c in text
    )


def _flat(frame: pl.DataFrame) -> pl.DataFrame:
    """Infinite right bounds (still online) as empty cells, which every CSV reader accepts."""
    return frame.with_columns(
        pl.when(pl.col("right_hours").is_infinite())
        .then(None)
        .otherwise(pl.col("right_hours"))
        .alias("right_hours")
    )


def write_full_csv(frame: pl.DataFrame, path: Path) -> Path:
    spreadsheet_safe(_flat(frame)).write_csv(path)
    return path


def write_researcher_csv(frame: pl.DataFrame, path: Path, secret: str) -> Path:
    """No URLs, hosts or IPs: identifying columns become stable keyed tokens."""
    spreadsheet_safe(_flat(pseudonymise_frame(frame, secret))).write_csv(path)
    return path
