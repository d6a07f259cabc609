"""Exports next to the report: the full case table and the pseudonymised researcher table.

Written through :mod:`hostwatch.csv_safety`: reported URLs are written by criminals, and these
files are opened by analysts.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from hostwatch.csv_safety import write_frame_csv
from hostwatch.metrics.pseudonymise import pseudonymise_frame


def _flat(frame: pl.DataFrame) -> pl.DataFrame:
    """Infinite right bounds (still online) as empty cells, which every CSV reader accepts."""
    return frame.with_columns(
        pl.when(pl.col("right_hours").is_infinite())
        .then(None)
        .otherwise(pl.col("right_hours"))
        .alias("right_hours")
    )


def write_full_csv(frame: pl.DataFrame, path: Path) -> Path:
    write_frame_csv(_flat(frame), path)
    return path


def write_researcher_csv(frame: pl.DataFrame, path: Path, secret: str) -> Path:
    """No URLs, hosts or IPs: identifying columns become stable keyed tokens."""
    write_frame_csv(_flat(pseudonymise_frame(frame, secret)), path)
    return path
