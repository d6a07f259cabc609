"""Takedown time against the 24 h norm (and the regulator's 12 h and 1 h), overall and per party.

Buckets and quantiles come from the survival estimate (:mod:`hostwatch.metrics.survival`), so a
case still online at the period end counts as "not removed yet", not as missing, and a removal
seen only between two checks is placed no earlier than the records allow: a case counts as
removed within 24 h only when it was seen offline by 24 h (an interval straddling 24 h counts as
later); ``removed_within_24h_upper`` is the share if every straddling interval had ended early.
The slow tail is reported as p90, the share over 48 h, the longest proven time online and the
count still online after 7 days.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from hostwatch.metrics.groups import PLURAL, encode, with_group
from hostwatch.metrics.survival import SurvivalCurve, fit_groups, fit_survival

# One minute: finer than any check schedule, coarse enough to bound the NPMLE's work.
RESOLUTION_HOURS = 1.0 / 60.0
PLOT_RESOLUTION_HOURS = 0.25
# Relative log-likelihood gain per iteration below which a fit is taken as converged; shares
# printed to four digits no longer move (checked against 1e-12 on simulated and real data).
LOGLIK_TOL = 1e-9
WEEK_HOURS = 168.0

FIGURES = (
    "n",
    "removed",
    "censored",
    "removed_within_1h",
    "removed_within_12h",
    "removed_within_24h",
    "removed_within_24h_upper",
    "removed_24_48h",
    "removed_over_48h",
    "median_hours",
    "p90_hours",
    "hotline_median_hours",
    "clock_from_notice",
    "longest_online_hours",
    "online_over_7d",
    "estimator",
)


def curve_of(frame: pl.DataFrame, *, bootstrap: int = 0, seed: int = 0) -> SurvivalCurve:
    """The survival curve of these episodes; with ``bootstrap`` replicates, for drawing.

    A curve with a bootstrap band is fitted on a quarter-hour grid (:data:`PLOT_RESOLUTION_HOURS`):
    charts cannot show finer steps, and the band's cost grows with the distinct intervals.
    """
    return fit_survival(
        frame["left_hours"].to_numpy(),
        frame["right_hours"].to_numpy(),
        resolution=PLOT_RESOLUTION_HOURS if bootstrap else RESOLUTION_HOURS,
        bootstrap=bootstrap,
        seed=seed,
        loglik_tol=LOGLIK_TOL,
    )


def curves_by_group(frame: pl.DataFrame, by: str) -> dict[str, SurvivalCurve]:
    """One survival curve per group, all fitted in one vectorised pass."""
    names, codes = encode(with_group(frame, by)["group"])
    curves = fit_groups(
        frame["left_hours"].to_numpy(),
        frame["right_hours"].to_numpy(),
        codes,
        resolution=RESOLUTION_HOURS,
        loglik_tol=LOGLIK_TOL,
    )
    return dict(zip(names, curves, strict=True))


def _round(value: float | None, digits: int = 6) -> float | None:
    return None if value is None else round(float(value), digits)


def figures(frame: pl.DataFrame, curve: SurvivalCurve | None = None) -> dict[str, Any]:
    """The takedown figures of one set of case episodes (empty set: counts only)."""
    n = frame.height
    removed = int(frame["removed"].sum()) if n else 0
    base: dict[str, Any] = {name: None for name in FIGURES}
    base.update(n=n, removed=removed, censored=n - removed)
    if n == 0:
        return base
    curve = curve or curve_of(frame)
    by24 = curve.removed_by(24.0)
    by48 = curve.removed_by(48.0)
    hotline = frame["hotline_hours"].drop_nulls()
    left = frame["left_hours"]
    base.update(
        removed_within_1h=_round(curve.removed_by(1.0)),
        removed_within_12h=_round(curve.removed_by(12.0)),
        removed_within_24h=_round(by24),
        removed_within_24h_upper=_round(curve.removed_by_upper(24.0)),
        removed_24_48h=_round(by48 - by24),
        removed_over_48h=_round(1.0 - by48),
        median_hours=_round(curve.quantile(0.5), 3),
        p90_hours=_round(curve.quantile(0.9), 3),
        hotline_median_hours=_round(hotline.median(), 3) if hotline.len() else None,  # type: ignore[arg-type]
        clock_from_notice=int((frame["clock_start"] != "message").sum()),
        longest_online_hours=_round(left.max(), 3),  # type: ignore[arg-type]
        online_over_7d=int((left > WEEK_HOURS).sum()),
        estimator=curve.method,
    )
    return base


def takedown_table(
    frame: pl.DataFrame, by: str = "provider", curves: dict[str, SurvivalCurve] | None = None
) -> pl.DataFrame:
    """One row of :data:`FIGURES` per group, largest first."""
    if frame.is_empty():
        return pl.DataFrame(schema=_table_schema())
    curves = curves if curves is not None else curves_by_group(frame, by)
    grouped = with_group(frame, by)
    rows = []
    for key, part in grouped.partition_by("group", as_dict=True, maintain_order=False).items():
        rows.append({"group": key[0], **figures(part, curves[str(key[0])])})
    table = pl.DataFrame(rows, schema=_table_schema(), orient="row")
    return table.sort(["n", "group"], descending=[True, False])


def _table_schema() -> dict[str, Any]:
    schema: dict[str, Any] = {"group": pl.Utf8}
    for name in FIGURES:
        schema[name] = (
            pl.Int64
            if name in ("n", "removed", "censored", "clock_from_notice", "online_over_7d")
            else pl.Utf8
            if name == "estimator"
            else pl.Float64
        )
    return schema


def worst_cases(frame: pl.DataFrame, by: str = "provider", per_group: int = 3) -> pl.DataFrame:
    """The episodes proven online longest, per group: the tail behind the percentiles."""
    return (
        with_group(frame, by)
        .sort("left_hours", descending=True)
        .group_by("group", maintain_order=True)
        .head(per_group)
        .select(
            "group",
            "case_id",
            "url_id",
            "url",
            "host",
            "start_at",
            "left_hours",
            "right_hours",
            "removed",
        )
    )


def takedown_report(frame: pl.DataFrame, by: str = "provider") -> dict[str, Any]:
    """Overall figures plus a list of per-group figures, each naming its group under ``by``."""
    overall = figures(frame)
    table = takedown_table(frame, by).rename({"group": by})
    return {**overall, "by": by, PLURAL[by]: table.to_dicts()}


def survival_grid(curve: SurvivalCurve, hours: np.ndarray) -> dict[str, list[float]]:
    """The curve sampled on a grid, for plots and exports."""
    low, high = curve.band_at(hours)
    return {
        "hours": hours.tolist(),
        "survival": curve.survival_at(hours).tolist(),
        "ci_low": low.tolist(),
        "ci_high": high.tolist(),
    }
