"""Trends quarter by quarter: volume and speed, and who enters or leaves the top.

Each quarter's figures come from the confirmed episodes whose clock started in it, so a slow case
counts against the quarter it was reported in. Per-group bounds for all quarter x group pairs are
fitted in one vectorised pass.
"""

from __future__ import annotations

import itertools
from typing import Any

import polars as pl

from hostwatch.metrics.bounds import fit_bounds
from hostwatch.metrics.groups import encode, with_group
from hostwatch.metrics.takedown import confirmed


def quarter_expr() -> pl.Expr:
    start = pl.col("start_at")
    return pl.format("{}Q{}", start.dt.year(), start.dt.quarter())


def _fit_cells(frame: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    """Share seen offline within 24 h (and its upper bound) and the median per combination of
    ``keys``, by the same bounds as every takedown figure (:mod:`hostwatch.metrics.takedown`)."""
    names, codes = encode(frame.select(pl.concat_str(keys, separator="\x1f")).to_series())
    fitted = fit_bounds(frame["left_hours"].to_numpy(), frame["right_hours"].to_numpy(), codes)
    medians = [b.quantile(0.5) for b in fitted]
    return pl.DataFrame(
        {
            "cell": names,
            "removed_within_24h": [b.removed_by(24.0) for b in fitted],
            "removed_within_24h_upper": [b.removed_by_upper(24.0) for b in fitted],
            "median_hours": [m.value for m in medians],
            "median_status": [m.status for m in medians],
            "median_lower_hours": [m.lower for m in medians],
            "median_upper_hours": [m.upper for m in medians],
        },
        schema={
            "cell": pl.Utf8,
            "removed_within_24h": pl.Float64,
            "removed_within_24h_upper": pl.Float64,
            "median_hours": pl.Float64,
            "median_status": pl.Utf8,
            "median_lower_hours": pl.Float64,
            "median_upper_hours": pl.Float64,
        },
    )


def quarterly(frame: pl.DataFrame, by: str = "provider", top: int = 10) -> dict[str, Any]:
    """Overall and per-group (the ``top`` groups by volume over the whole frame) per quarter.

    Also, for each quarter after the first, the groups that entered or left that quarter's top.
    """
    frame = confirmed(frame)
    if frame.is_empty():
        return {"by": by, "quarters": [], "overall": [], "groups": [], "top_changes": []}
    data = with_group(frame, by).with_columns(quarter=quarter_expr())
    overall_counts = data.group_by("quarter").agg(
        pl.len().alias("n"), pl.col("url_id").n_unique().alias("urls")
    )
    overall = overall_counts.join(
        _fit_cells(data, ["quarter"]).rename({"cell": "quarter"}), on="quarter"
    ).sort("quarter")
    leaders = (
        data.group_by("group")
        .agg(pl.len().alias("n"))
        .sort(["n", "group"], descending=[True, False])
        .head(top)["group"]
        .to_list()
    )
    focus = data.filter(pl.col("group").is_in(leaders))
    per_group = pl.DataFrame(schema={"quarter": pl.Utf8, "group": pl.Utf8})
    if not focus.is_empty():
        counts = focus.group_by("quarter", "group").agg(pl.len().alias("n"))
        fitted = (
            _fit_cells(focus, ["quarter", "group"])
            .with_columns(
                pl.col("cell").str.split_exact("\x1f", 1).struct.rename_fields(["quarter", "group"])
            )
            .unnest("cell")
        )
        per_group = counts.join(fitted, on=["quarter", "group"]).sort("quarter", "group")

    ranked = (
        data.group_by("quarter", "group")
        .agg(pl.len().alias("n"))
        .sort(["quarter", "n", "group"], descending=[False, True, False])
    )
    quarters = sorted(ranked["quarter"].unique().to_list())
    tops = {q: ranked.filter(pl.col("quarter") == q).head(top)["group"].to_list() for q in quarters}
    changes = []
    for before, after in itertools.pairwise(quarters):
        changes.append(
            {
                "quarter": after,
                "entered": [g for g in tops[after] if g not in tops[before]],
                "left": [g for g in tops[before] if g not in tops[after]],
            }
        )
    return {
        "by": by,
        "quarters": quarters,
        "overall": overall.to_dicts(),
        "groups": per_group.to_dicts(),
        "top": tops,
        "top_changes": changes,
    }
