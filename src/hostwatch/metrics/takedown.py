"""Takedown time against the 24 h norm (and the regulator's 12 h and 1 h), overall and per party.

The one place hostwatch computes takedown time, its shares, medians and percentiles: the case
list, the API, the portal, the dossier and the report all read them from here.

Only episodes whose URL was seen online by conclusive evidence count (``evidence == 'online'``
in the frame); those never confirmed online and those the policy forbids checking are counted
apart (``not_confirmed_online``, ``not_checkable``), never as takedowns nor as "still online".

Shares and quantiles come from the bounds the records identify (:mod:`hostwatch.metrics.bounds`):
``removed_within_24h`` is the share seen offline by 24 h (conservative, the headline);
``removed_within_24h_upper`` the share that may have been removed by then. A median or p90 that
the records do not pin down is reported as "not identified" with its lower and upper bound, never
as the earliest possible time. The slow tail is reported as p90, the share over 48 h, the longest
proven time online and the count still online after 7 days; ``online_after_24h`` counts the
episodes seen online after the 24 h norm had passed (proof of a missed norm, as the regulator's
dossier lists them).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

import numpy as np
import polars as pl

from hostwatch.metrics.bounds import IDENTIFIED, NOT_IDENTIFIED, Bounds, Quantile, fit_bounds
from hostwatch.metrics.frame import load_frame
from hostwatch.metrics.groups import PLURAL, encode, with_group
from hostwatch.metrics.period import Period

# The Dutch code of conduct's norm: removal within 24 hours of the notice.
NORM_HOURS = 24.0
WEEK_HOURS = 168.0
CONFIRMED = "online"
NOT_CONFIRMED = "not-confirmed-online"
NOT_CHECKABLE = "not-checkable"

COUNTS = ("n", "removed", "censored", "not_confirmed_online", "not_checkable")
SHARES = (
    "removed_within_1h",
    "removed_within_1h_upper",
    "removed_within_12h",
    "removed_within_12h_upper",
    "removed_within_24h",
    "removed_within_24h_upper",
    "removed_24_48h",
    "removed_over_48h",
)
QUANTILES = {"median": 0.5, "p90": 0.9}
FIGURES = (
    *COUNTS,
    *SHARES,
    *(
        f"{name}_{part}"
        for name in QUANTILES
        for part in ("hours", "status", "lower_hours", "upper_hours")
    ),
    "hotline_median_hours",
    "clock_from_notice",
    "longest_online_hours",
    "online_after_24h",
    "online_over_7d",
    "estimator",
)
_INTEGERS = (*COUNTS, "clock_from_notice", "online_after_24h", "online_over_7d")
_TEXT = ("estimator", "median_status", "p90_status")


def confirmed(frame: pl.DataFrame) -> pl.DataFrame:
    """The episodes takedown time is measured on: seen online by conclusive evidence."""
    return frame.filter(pl.col("evidence") == CONFIRMED)


def bounds_of(frame: pl.DataFrame) -> Bounds:
    """The bounds of these (confirmed) episodes as one group."""
    return fit_bounds(frame["left_hours"].to_numpy(), frame["right_hours"].to_numpy())[0]


def bounds_by_group(frame: pl.DataFrame, by: str) -> dict[str, Bounds]:
    """One set of bounds per group of the confirmed episodes, all fitted in one pass."""
    kept = confirmed(frame)
    if kept.is_empty():
        return {}
    names, codes = encode(with_group(kept, by)["group"])
    fitted = fit_bounds(kept["left_hours"].to_numpy(), kept["right_hours"].to_numpy(), codes)
    return dict(zip(names, fitted, strict=True))


def _round(value: float | None, digits: int = 6) -> float | None:
    return None if value is None else round(float(value), digits)


def _quantile(name: str, q: Quantile) -> dict[str, Any]:
    return {
        f"{name}_hours": _round(q.value, 3),
        f"{name}_status": q.status,
        f"{name}_lower_hours": _round(q.lower, 3),
        f"{name}_upper_hours": _round(q.upper, 3),
    }


def figures(frame: pl.DataFrame, bounds: Bounds | None = None) -> dict[str, Any]:
    """The takedown figures of one set of case episodes (no confirmed episode: counts only).

    ``frame`` may hold every episode of the set: those not confirmed online are counted apart.
    ``bounds``, when given, must be those of its confirmed episodes.
    """
    evidence = frame["evidence"]
    kept = confirmed(frame)
    n = kept.height
    removed = int(kept["removed"].sum()) if n else 0
    base: dict[str, Any] = {name: None for name in FIGURES}
    base.update(
        n=n,
        removed=removed,
        censored=n - removed,
        not_confirmed_online=int((evidence == NOT_CONFIRMED).sum()),
        not_checkable=int((evidence == NOT_CHECKABLE).sum()),
    )
    if n == 0:
        return base
    b = bounds or bounds_of(kept)
    by24, by48 = b.removed_by(24.0), b.removed_by(48.0)
    hotline = kept["hotline_hours"].drop_nulls()
    left = kept["left_hours"]
    for hours in (1, 12, 24):
        base[f"removed_within_{hours}h"] = _round(b.removed_by(float(hours)))
        base[f"removed_within_{hours}h_upper"] = _round(b.removed_by_upper(float(hours)))
    base.update(
        removed_24_48h=_round(by48 - by24),
        removed_over_48h=_round(1.0 - by48),
        hotline_median_hours=_round(hotline.median(), 3) if hotline.len() else None,  # type: ignore[arg-type]
        clock_from_notice=int((kept["clock_start"] != "message").sum()),
        longest_online_hours=_round(left.max(), 3),  # type: ignore[arg-type]
        online_after_24h=int((left > NORM_HOURS).sum()),
        online_over_7d=int((left > WEEK_HOURS).sum()),
        estimator=b.method,
    )
    for name, q in QUANTILES.items():
        base.update(_quantile(name, b.quantile(q)))
    return base


def takedown_table(
    frame: pl.DataFrame, by: str = "provider", bounds: dict[str, Bounds] | None = None
) -> pl.DataFrame:
    """One row of :data:`FIGURES` per group, largest first; the groups partition the frame."""
    if frame.is_empty():
        return pl.DataFrame(schema=_table_schema())
    bounds = bounds if bounds is not None else bounds_by_group(frame, by)
    grouped = with_group(frame, by)
    rows = []
    for key, part in grouped.partition_by("group", as_dict=True, maintain_order=False).items():
        rows.append({"group": key[0], **figures(part, bounds.get(str(key[0])))})
    table = pl.DataFrame(rows, schema=_table_schema(), orient="row")
    return table.sort(["n", "group"], descending=[True, False])


def _table_schema() -> dict[str, Any]:
    schema: dict[str, Any] = {"group": pl.Utf8}
    for name in FIGURES:
        schema[name] = pl.Int64 if name in _INTEGERS else pl.Utf8 if name in _TEXT else pl.Float64
    return schema


def takedown_report(frame: pl.DataFrame, by: str = "provider") -> dict[str, Any]:
    """Overall figures plus a list of per-group figures, each naming its group under ``by``.

    The JSON document of ``hostwatch metrics takedown --format json`` and of the API.
    """
    overall = figures(frame)
    table = takedown_table(frame, by).rename({"group": by})
    return {**overall, "by": by, PLURAL[by]: table.to_dicts()}


def load_takedown_report(
    database_url: str,
    period: Period,
    *,
    by: str = "provider",
    offline_after: int = 3,
    providers: Collection[str] | None = None,
) -> dict[str, Any]:
    """:func:`takedown_report` of the database's episodes in ``period``; with ``providers``,
    of those providers' episodes only (what a provider may see of the figures)."""
    frame = load_frame(database_url, period, offline_after=offline_after)
    if providers is not None:
        frame = frame.filter(pl.col("provider").is_in(list(providers)))
    return takedown_report(frame, by)


def quantile_text(row: dict[str, Any], name: str) -> str:
    """A median or percentile of a figures row as words: a time, or its bounds."""
    status = row[f"{name}_status"]
    if status == IDENTIFIED:
        return f"{row[f'{name}_hours']:,.1f} h"
    if status == NOT_IDENTIFIED:
        low, high = row[f"{name}_lower_hours"], row[f"{name}_upper_hours"]
        upper = "not reached" if high is None else f"{high:,.1f} h"
        return f"not identified ({low:,.1f} h – {upper})"
    return "not reached" if status else "–"


def bounds_grid(b: Bounds, hours: np.ndarray) -> dict[str, list[float]]:
    """Share still online on a grid: conservative (seen offline) and earliest possible."""
    return {
        "hours": hours.tolist(),
        "survival": (1.0 - b.seen_offline.at(hours)).tolist(),
        "ci_low": (1.0 - b.may_be_removed.at(hours)).tolist(),
        "ci_high": (1.0 - b.seen_offline.at(hours)).tolist(),
    }


def takedown_seconds(
    first_message_at: datetime | None, removed_at: datetime | None
) -> int | float | None:
    """One case's recorded takedown time: first sent message to the first check of the run that
    confirmed removal (the latest moment it can have happened). None while not removed
    (right-censored) or when removal came before any message; whole seconds as an int."""
    if first_message_at is None or removed_at is None:
        return None
    seconds = (removed_at - first_message_at).total_seconds()
    if seconds < 0:
        return None
    return int(seconds) if seconds.is_integer() else seconds
