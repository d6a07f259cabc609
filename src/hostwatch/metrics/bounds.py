"""What the records identify about takedown time: two Kaplan-Meier curves that bracket it.

A check or a feed snapshot never sees the moment of removal, only the last sighting online
(``left``) and the first sighting of the offline run that confirmed it (``right``). When checks
come is not independent of removal (a feed's first-absent time is *defined* by the removal;
without its snapshot table only the first sighting is known), so a likelihood estimate such as
Turnbull's NPMLE can place every removal at the earliest time the records allow: on the URLhaus
2019-22 history without its snapshots it says 100 % within 1 h where 40.8 % were seen absent
within 24 h. Without any assumption about the check times the records identify only bounds:

- **seen offline by t** (the headline, conservative): each removal placed as late as the records
  allow, at ``right``: a Kaplan-Meier curve over the first-offline times;
- **may have been removed by t** (the upper bound): each removal placed as early as they allow,
  just after ``left`` (at ``left`` itself for an exact time), and never below the headline:
  Kaplan-Meier is not monotone in where an event sits relative to a censoring time (a removal
  moved before a still-online episode's last sighting shares the risk set with it, and the
  curve beyond ends lower), so the upper curve is the larger of the two placements at every t.

Episodes still online are censored at their last online sighting in both curves. Where every
time is exact the two curves are one Kaplan-Meier estimate. A quantile is identified only where
both curves reach it at the same time; otherwise it is "not identified" with the two times as
its bounds, and "not reached" where even the upper curve never reaches it.

All groups are fitted in one columnar pass; each group's curve is computed exactly as it would
be alone (per-group products, no shared rounding), so a group holding every episode gives
exactly the overall figures.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

# "Just after the last online sighting": removal lies strictly after ``left`` for an interval.
_AFTER = 1e-9
_TOLERANCE = 1e-12

IDENTIFIED = "identified"
NOT_IDENTIFIED = "not identified"
NOT_REACHED = "not reached"


@dataclass(frozen=True)
class Curve:
    """A step distribution function: ``removed[k]`` is the share removed by ``times[k]``."""

    times: np.ndarray
    removed: np.ndarray

    def share_by(self, hours: float) -> float:
        idx = int(np.searchsorted(self.times, hours, side="right"))
        return 0.0 if idx == 0 else float(self.removed[idx - 1])

    def quantile(self, q: float) -> float | None:
        hit = np.nonzero(self.removed >= q - _TOLERANCE)[0]
        return float(self.times[hit[0]]) if hit.size else None

    def at(self, hours: np.ndarray) -> np.ndarray:
        """Share removed at each point of a grid."""
        idx = np.searchsorted(self.times, hours, side="right")
        return np.concatenate(([0.0], self.removed))[idx]


@dataclass(frozen=True)
class Quantile:
    """A time by which a share was removed, as far as the records identify it."""

    lower: float | None  # the earliest time the records allow
    upper: float | None  # the time by which it was seen offline (None: not seen yet)

    @property
    def status(self) -> str:
        if self.lower is None:
            return NOT_REACHED
        return IDENTIFIED if self.upper is not None and self.upper <= self.lower else NOT_IDENTIFIED

    @property
    def value(self) -> float | None:
        """The time itself, only when identified."""
        return self.upper if self.status == IDENTIFIED else None


@dataclass(frozen=True)
class Bounds:
    """The two curves of one set of episodes."""

    seen_offline: Curve
    may_be_removed: Curve
    n: int
    exact: bool

    def removed_by(self, hours: float) -> float:
        """Share seen offline by ``hours`` (the conservative figure)."""
        return self.seen_offline.share_by(hours)

    def removed_by_upper(self, hours: float) -> float:
        """Share that may have been removed by ``hours``."""
        return self.may_be_removed.share_by(hours)

    def quantile(self, q: float) -> Quantile:
        upper = self.seen_offline.quantile(q)
        lower = self.may_be_removed.quantile(q)
        if lower is not None and upper is not None:
            lower = min(lower, upper)
        return Quantile(lower, upper)

    @property
    def method(self) -> str:
        return "kaplan-meier" if self.exact else "kaplan-meier bounds (interval-censored)"


def _curves(times: pl.Series, events: pl.Series, codes: np.ndarray, groups: int) -> list[Curve]:
    """Kaplan-Meier distribution function per group, fitted in one pass."""
    frame = pl.DataFrame({"g": codes, "t": times, "e": events})
    steps = (
        frame.group_by("g", "t")
        .agg(pl.col("e").sum().alias("d"), pl.len().alias("c"))
        .sort("g", "t")
        .with_columns(at_risk=pl.col("c").reverse().cum_sum().reverse().over("g"))
        .with_columns(factor=1.0 - pl.col("d") / pl.col("at_risk"))
        .with_columns(survival=pl.col("factor").cum_prod().over("g"))
        .filter(pl.col("d") > 0)
    )
    g = steps["g"].to_numpy()
    t = steps["t"].to_numpy()
    removed = np.clip(1.0 - steps["survival"].to_numpy(), 0.0, 1.0)
    offset = np.concatenate(([0], np.cumsum(np.bincount(g, minlength=groups))))
    return [
        Curve(t[offset[k] : offset[k + 1]], removed[offset[k] : offset[k + 1]])
        for k in range(groups)
    ]


def _envelope(early: Curve, late: Curve) -> Curve:
    """The pointwise larger of two distribution functions (itself one), on their joint steps."""
    times = np.union1d(early.times, late.times)
    return Curve(times, np.maximum(early.at(times), late.at(times)))


def fit_bounds(
    left: np.ndarray, right: np.ndarray, codes: np.ndarray | None = None
) -> list[Bounds]:
    """Bounds per group (``codes`` numbers the groups 0..G-1; all one group when omitted).

    ``left``/``right`` in hours: removal in ``(left, right]``, ``right = inf`` still online,
    ``left == right`` an exact time.
    """
    left = np.asarray(left, dtype=np.float64)
    right = np.asarray(right, dtype=np.float64)
    if codes is None:
        codes = np.zeros(left.size, np.int64)
    groups = int(codes.max()) + 1 if codes.size else 0
    removed = np.isfinite(right)
    exact = removed & (right <= left)
    late = pl.Series(np.where(removed, right, left))
    early = pl.Series(np.where(removed & ~exact, left + _AFTER, left))
    event = pl.Series(removed.astype(np.int64))
    seen = _curves(late, event, codes, groups)
    may = [_envelope(a, b) for a, b in zip(_curves(early, event, codes, groups), seen, strict=True)]
    sizes = np.bincount(codes, minlength=groups)
    inexact = np.bincount(codes, weights=(removed & ~exact).astype(float), minlength=groups)
    return [Bounds(seen[k], may[k], int(sizes[k]), bool(inexact[k] == 0)) for k in range(groups)]
