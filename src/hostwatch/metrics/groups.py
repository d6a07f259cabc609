"""The parties a figure can be given per: provider, reseller, AS, country.

Every row gets exactly one label, so each grouping partitions the same episodes as the overall
figure: rows with no attribution are the group ``unattributed`` in every grouping (not dropped,
not merged with another label), and an attributed row without a reseller is ``(no reseller)``.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from hostwatch.metrics.frame import UNATTRIBUTED

GROUPINGS = ("provider", "reseller", "asn", "country")
NO_RESELLER = "(no reseller)"
PLURAL = {"provider": "providers", "reseller": "resellers", "asn": "asns", "country": "countries"}


def group_expr(by: str) -> pl.Expr:
    """The label of each row's group for ``by`` (one of :data:`GROUPINGS`)."""
    if by == "provider":
        return pl.col("provider").fill_null(UNATTRIBUTED)
    if by == "reseller":
        return (
            pl.when(pl.col("reseller").is_not_null())
            .then(pl.col("reseller"))
            .when(pl.col("provider").fill_null(UNATTRIBUTED) == UNATTRIBUTED)
            .then(pl.lit(UNATTRIBUTED))
            .otherwise(pl.lit(NO_RESELLER))
        )
    if by == "asn":
        return (
            pl.when(pl.col("asn").is_not_null())
            .then(pl.format("AS{}", pl.col("asn")))
            .otherwise(pl.lit(UNATTRIBUTED))
        )
    if by == "country":
        return pl.col("country").fill_null(UNATTRIBUTED)
    raise ValueError(f"cannot group by {by!r}; choose one of {', '.join(GROUPINGS)}")


def with_group(frame: pl.DataFrame, by: str) -> pl.DataFrame:
    return frame.with_columns(group_expr(by).alias("group"))


def encode(labels: pl.Series) -> tuple[list[str], np.ndarray]:
    """Sorted distinct labels and each row's index into them (hash-based, no Python loop)."""
    text = labels.cast(pl.Utf8).fill_null("")
    codes = (text.rank("dense") - 1).cast(pl.Int64).to_numpy()
    return text.unique().sort().to_list(), codes
