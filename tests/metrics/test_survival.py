"""The survival estimator against lifelines, on generated and on real takedown histories."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lifelines import KaplanMeierFitter

from hostwatch.metrics.survival import coarsen, fit_groups, fit_survival, npmle_masses, prepare

TOL = 1e-6


def _lifelines_turnbull_at(left: np.ndarray, right: np.ndarray, times: np.ndarray) -> np.ndarray:
    """lifelines' NPMLE uses closed intervals; nudging the left end makes them (left, right]."""
    fitted = KaplanMeierFitter().fit_interval_censoring(left + 1e-7, right, tol=1e-14)
    return fitted.survival_function_.iloc[:, 1].loc[times].to_numpy()


def _compare_turnbull(left: np.ndarray, right: np.ndarray) -> float:
    ours = fit_survival(left, right)
    assert ours.method == "turnbull-npmle"
    finite = np.isfinite(ours.upper)
    theirs = _lifelines_turnbull_at(left, right, ours.upper[finite])
    return float(np.abs(ours.survival[finite] - theirs).max())


def _compare_km(durations: np.ndarray, observed: np.ndarray) -> tuple[float, float]:
    ours = fit_survival(durations, np.where(observed, durations, np.inf))
    assert ours.method == "kaplan-meier"
    theirs = KaplanMeierFitter().fit(durations, observed)
    times = np.unique(durations[observed])
    survival = np.abs(
        ours.survival_at(times) - theirs.survival_function_.iloc[:, 0].loc[times].to_numpy()
    ).max()
    low, high = ours.band_at(times)
    ci = theirs.confidence_interval_
    band = max(
        np.nanmax(np.abs(low - ci.iloc[:, 0].loc[times].to_numpy())),
        np.nanmax(np.abs(high - ci.iloc[:, 1].loc[times].to_numpy())),
    )
    assert ours.quantile(0.5) == pytest.approx(theirs.median_survival_time_)
    return float(survival), float(band)


def test_kaplan_meier_matches_lifelines_on_generated_data() -> None:
    rng = np.random.default_rng(3)
    removal = np.round(rng.exponential(30.0, 5000), 1)
    censor = np.round(rng.exponential(80.0, 5000), 1)
    observed = removal <= censor
    survival, band = _compare_km(np.minimum(removal, censor), observed)
    assert survival < TOL
    assert band < TOL


def test_turnbull_matches_lifelines_on_generated_check_schedules() -> None:
    rng = np.random.default_rng(5)
    removal = rng.lognormal(np.log(12.0), 1.0, 3000)
    checks = np.arange(0.0, 2000.0, 6.0)
    slot = np.searchsorted(checks, removal)
    left, right = checks[slot - 1], checks[slot]
    right = np.where(rng.random(3000) < 0.1, np.inf, right)  # still online
    assert _compare_turnbull(left, right) < TOL


def test_turnbull_matches_lifelines_with_overlapping_irregular_intervals() -> None:
    rng = np.random.default_rng(9)
    left = np.round(rng.uniform(0, 50, 300), 0)
    right = left + np.round(rng.uniform(1, 40, 300), 0)
    right[::7] = np.inf
    # Heavy overlap: lifelines' EM stops 6e-6 short of the maximum here. Where the two differ,
    # ours must have the higher likelihood, and the curves still agree closely.
    data = prepare(left, right)
    ours = npmle_masses(data)
    finite = np.isfinite(data.upper)
    theirs_s = _lifelines_turnbull_at(left, right, data.upper[finite])
    assert np.abs(1.0 - np.cumsum(ours)[finite] - theirs_s).max() < 1e-5
    theirs = -np.diff(np.concatenate(([1.0], theirs_s)))
    theirs = np.append(theirs, 1.0 - theirs.sum())[: len(ours)]

    def loglik(p: np.ndarray) -> float:
        cum = np.concatenate(([0.0], np.cumsum(p)))
        return float((data.weight * np.log(cum[data.last + 1] - cum[data.first])).sum())

    assert loglik(ours) >= loglik(theirs)


@pytest.fixture(scope="module")
def phish(shared_data: Path) -> pl.DataFrame:
    folder = next(shared_data.glob("04_*"))
    return pl.read_csv(folder / "phish_lifetimes.csv.gz", infer_schema_length=0).select(
        first=pl.col("first_snapshot_date").str.to_date(),
        last=pl.col("last_snapshot_date").str.to_date(),
        absent=pl.col("first_absent_snapshot_date").str.to_date(strict=False),
    )


def test_kaplan_meier_matches_lifelines_on_phishtank_lifetimes(phish: pl.DataFrame) -> None:
    """Days listed (first to last daily snapshot), dropped = removed, still listed = censored."""
    days = (phish["last"] - phish["first"]).dt.total_days().to_numpy().astype(float)
    observed = phish["absent"].is_not_null().to_numpy()
    survival, band = _compare_km(days, observed)
    assert survival < TOL
    assert band < TOL


def test_turnbull_matches_lifelines_on_phishtank_intervals(phish: pl.DataFrame) -> None:
    """Removal between the last snapshot listing the phish and the first without it."""
    sample = phish.sample(4000, seed=2)
    left = (sample["last"] - sample["first"]).dt.total_days().to_numpy().astype(float)
    absent = (sample["absent"] - sample["first"]).dt.total_days().to_numpy()
    right = np.where(np.isnan(absent.astype(float)), np.inf, absent.astype(float))
    assert _compare_turnbull(left, right) < TOL


def test_turnbull_matches_lifelines_on_urlhaus_intervals(shared_data: Path) -> None:
    """Hours from first listed to the last snapshot still listing the host / the first without."""
    folder = next(shared_data.glob("11_*"))
    snaps = pl.read_csv(folder / "urlhaus_filter_snapshots.csv.gz", infer_schema_length=0)
    taken = np.sort(
        snaps["list_updated_header_utc"]
        .str.to_datetime("%Y-%m-%dT%H:%M:%S%z", strict=False)
        .drop_nulls()
        .dt.epoch("s")
        .to_numpy()
        .astype(float)
    )
    rows = (
        pl.read_csv(folder / "urlhaus_filter_online_intervals.csv.gz", infer_schema_length=0)
        .sample(2000, seed=4)
        .select(
            seen=pl.col("first_seen_utc").str.to_datetime("%Y-%m-%dT%H:%M:%S%z").dt.epoch("s"),
            absent=pl.col("first_absent_utc")
            .str.to_datetime("%Y-%m-%dT%H:%M:%S%z", strict=False)
            .dt.epoch("s"),
        )
    )
    seen = rows["seen"].to_numpy().astype(float)
    absent = rows["absent"].to_numpy().astype(float)
    last = taken[np.clip(np.searchsorted(taken, np.nan_to_num(absent, nan=np.inf)) - 1, 0, None)]
    # Whole hours, widened outwards, keep lifelines' pure-Python NPMLE to seconds.
    left = np.floor(np.maximum(last - seen, 0.0) / 3600.0)
    right = np.where(np.isnan(absent), np.inf, np.ceil((absent - seen) / 3600.0))
    left = np.minimum(left, right)
    assert _compare_turnbull(left, right) < TOL


def test_grouped_fit_equals_separate_fits() -> None:
    rng = np.random.default_rng(1)
    groups = rng.integers(0, 4, 2000)
    removal = rng.lognormal(np.log(6.0 + 6.0 * groups), 0.8)
    left = np.floor(removal / 3.0) * 3.0
    right = np.where(rng.random(2000) < 0.05, np.inf, left + 3.0)
    together = fit_groups(left, right, groups, loglik_tol=1e-14, max_iter=5000)
    for g in range(4):
        alone = fit_survival(left[groups == g], right[groups == g])
        grid = np.array([3.0, 9.0, 24.0, 48.0])
        assert np.abs(together[g].survival_at(grid) - alone.survival_at(grid)).max() < 1e-6


def test_bootstrap_band_contains_the_estimate() -> None:
    rng = np.random.default_rng(2)
    removal = rng.exponential(20.0, 1500)
    left = np.floor(removal / 6.0) * 6.0
    curve = fit_survival(left, left + 6.0, bootstrap=40, seed=1)
    grid = np.array([6.0, 12.0, 24.0, 48.0])
    low, high = curve.band_at(grid)
    point = curve.survival_at(grid)
    assert (low <= point + 1e-9).all() and (point <= high + 1e-9).all()
    assert (high - low).max() < 0.15


def test_straddling_interval_counts_as_late_with_an_upper_bound() -> None:
    # Half the cases are seen gone by 12 h; the other half between 20 h and 30 h.
    left = np.array([0.0] * 50 + [20.0] * 50)
    right = np.array([12.0] * 50 + [30.0] * 50)
    curve = fit_survival(left, right)
    assert curve.removed_by(24.0) == pytest.approx(0.5)
    assert curve.removed_by_upper(24.0) == pytest.approx(1.0)
    assert curve.quantile(0.5) == pytest.approx(12.0)
    assert curve.quantile(0.9) == pytest.approx(30.0)


def test_quantile_is_unknown_when_censoring_hides_it() -> None:
    curve = fit_survival(np.array([1.0, 5.0, 5.0, 5.0]), np.array([1.0, np.inf, np.inf, np.inf]))
    assert curve.quantile(0.5) is None


def test_bad_intervals_are_refused_with_a_reason() -> None:
    with pytest.raises(ValueError, match="right >= left"):
        fit_survival(np.array([5.0]), np.array([1.0]))
    with pytest.raises(ValueError, match="NaN"):
        fit_survival(np.array([np.nan]), np.array([1.0]))


interval = st.tuples(st.integers(0, 40), st.integers(0, 20), st.booleans()).map(
    lambda t: (float(t[0]), float("inf") if t[2] else float(t[0] + t[1]))
)


@settings(max_examples=60, deadline=None)
@given(st.lists(interval, min_size=1, max_size=60))
def test_any_data_gives_a_proper_survival_curve(pairs: list[tuple[float, float]]) -> None:
    left = np.array([p[0] for p in pairs])
    right = np.array([p[1] for p in pairs])
    curve = fit_survival(left, right)
    assert np.all(np.diff(curve.survival) <= 1e-12)
    assert curve.survival.min() >= -1e-12 and curve.survival.max() <= 1 + 1e-12
    assert curve.mass.sum() <= 1 + 1e-9
    # Every observation's interval keeps positive probability under the estimate.
    grid_low = curve.survival_at(left)
    grid_high = np.where(np.isfinite(right), curve.survival_at(right), 0.0)
    assert np.all(grid_low - grid_high >= -1e-9)


def test_coarsen_only_widens() -> None:
    left = np.array([0.01, 1.49, 2.0, 7.3])
    right = np.array([0.02, 1.51, 2.0, np.inf])
    low, high = coarsen(left, right, 0.5)
    assert np.all(low <= left) and np.all(high[:2] >= right[:2])
    assert low[2] == high[2] == 2.0 and np.isinf(high[3])
