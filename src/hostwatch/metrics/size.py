"""Size normalisation: does a provider host more reported material than its size predicts?

Big hosters host more of everything, so raw counts name the big ones. A negative binomial
(Poisson-gamma) model ``log E[count] = a + b log(size)`` gives each provider an expected count.
It is fitted robustly, because maximum likelihood over a handful of providers fails in
practice (a dispersion running to zero or infinity leaves a singular Hessian): the regression
is a Poisson-family GLM fitted by iteratively reweighted least squares with the dispersion
``alpha`` held fixed, and ``alpha`` maximises the NB likelihood for those means in a bounded
one-dimensional search (regularised to [:data:`MIN_ALPHA`, :data:`MAX_ALPHA`]; the lower bound
means Poisson, alpha 0), the two alternating until ``alpha`` settles. log(size) is centred so
the two coefficients do not compete. Every provider with a size is in the fit, including those
with no reports: leaving them out would bias the slope.

The score is observed / expected with a 95% interval: the rate ratio theta for which the
observed count is still plausible under NB(theta * expected, alpha), found by bisection on the
NB tail probabilities; plus the Pearson residual (O - E) / sqrt(E + alpha E^2). A provider is
flagged only where the interval excludes 1, so small providers (wide intervals) are never named
on noise, and flagged providers are ranked by the interval's lower bound.

When no model can be fitted, :class:`SizeModelError` says why in words a reader understands
(too few providers with a known size, all the same size, no reports at all, no convergence) and
:func:`raw_rates` gives the plain rates per unit of size instead.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import numpy as np
import polars as pl
from scipy.stats import nbinom

MIN_PROVIDERS = 5
MIN_ALPHA = 1e-6
MAX_ALPHA = 50.0
RATE_UNIT = {"ipv4": 65_536.0, "ipv6_48": 65_536.0, "domains": 1_000.0}
"""Raw rates are per /16 of IPv4 space, per /32 of IPv6 (65,536 /48s), or per 1,000 domains."""


class SizeModelError(ValueError):
    """The size model cannot be fitted; the message is a plain sentence for the report."""


def _nb(count: np.ndarray, mean: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """P(X >= count) and P(X <= count) under NB with this mean and dispersion."""
    size = 1.0 / alpha
    prob = size / (size + mean)
    return nbinom.sf(count - 1, size, prob), nbinom.cdf(count, size, prob)


def ratio_interval(
    observed: np.ndarray, expected: np.ndarray, alpha: float, level: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """Interval of theta with O ~ NB(theta * E, alpha), by vectorised bisection on log theta."""
    tail = (1.0 - level) / 2
    observed = observed.astype(np.float64)
    alpha = max(alpha, 1e-8)

    def solve(upper_tail: bool) -> np.ndarray:
        lo = np.full(observed.shape, -12.0)
        hi = np.full(observed.shape, 12.0)
        for _ in range(60):
            mid = (lo + hi) / 2
            ge, le = _nb(observed, np.exp(mid) * expected, alpha)
            # P(X >= O) grows with theta; P(X <= O) falls with it.
            too_low = (ge < tail) if upper_tail else (le > tail)
            lo = np.where(too_low, mid, lo)
            hi = np.where(too_low, hi, mid)
        return np.exp((lo + hi) / 2)

    low = np.where(observed > 0, solve(True), 0.0)
    high = solve(False)
    return low, high


def _sized(
    observed: Mapping[str, int], sizes: Mapping[str, Mapping[str, float]], denominator: str
) -> tuple[list[str], np.ndarray, np.ndarray]:
    names = sorted(p for p, s in sizes.items() if (s.get(denominator) or 0) > 0)
    size = np.array([float(sizes[p][denominator]) for p in names])
    count = np.array([int(observed.get(p, 0)) for p in names])
    return names, size, count


def _dispersion(count: np.ndarray, mu: np.ndarray) -> float:
    """The NB dispersion maximising the likelihood for these means: a one-dimensional bounded
    search (no Hessian to go singular); 0 (Poisson) when the data are not overdispersed."""
    from scipy.optimize import minimize_scalar

    def loss(log_alpha: float) -> float:
        alpha = np.exp(log_alpha)
        return -float(nbinom.logpmf(count, 1.0 / alpha, 1.0 / (1.0 + alpha * mu)).sum())

    low, high = np.log(MIN_ALPHA), np.log(MAX_ALPHA)
    best = minimize_scalar(loss, bounds=(low, high), method="bounded")
    if not best.success or best.x <= low + 1e-3:
        return 0.0
    return float(np.exp(best.x))


def fit_size_model(count: np.ndarray, size: np.ndarray) -> dict[str, float]:
    """Intercept (at log size 0), slope and dispersion; :class:`SizeModelError` when impossible."""
    import statsmodels.api as sm
    from statsmodels.tools.sm_exceptions import PerfectSeparationWarning

    if count.size < MIN_PROVIDERS:
        known = f"{count.size} provider has" if count.size == 1 else f"{count.size} providers have"
        raise SizeModelError(
            f"only {known} a known size; comparing by size needs at least {MIN_PROVIDERS} "
            "providers with one"
        )
    log_size = np.log(size)
    if np.ptp(log_size) < 1e-9:
        raise SizeModelError(
            "every provider has the same size, so size cannot explain the differences between them"
        )
    if count.sum() == 0:
        raise SizeModelError("no reported material was attributed to a provider of known size")
    centre = float(log_size.mean())
    exog = np.column_stack([np.ones_like(log_size), log_size - centre])
    alpha = 0.0
    params = np.zeros(2)
    try:
        # An exact fit (counts proportional to size) is what the Poisson case is for, not a
        # warning for the analyst.
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", PerfectSeparationWarning)
            for _ in range(50):
                family = (
                    sm.families.NegativeBinomial(alpha=alpha)
                    if alpha > 0
                    else sm.families.Poisson()
                )
                start = params if params.any() else None
                result = sm.GLM(count, exog, family=family).fit(start_params=start, maxiter=100)
                params = np.asarray(result.params, dtype=float)
                updated = _dispersion(count, np.exp(exog @ params))
                if abs(updated - alpha) <= 1e-6 * max(1.0, alpha):
                    alpha = updated
                    break
                alpha = updated
    except (ValueError, np.linalg.LinAlgError, OverflowError) as exc:
        raise SizeModelError(f"the model did not converge ({exc})") from exc
    if not np.all(np.isfinite(params)) or not np.isfinite(alpha):
        raise SizeModelError("the model did not converge (the estimates ran off to infinity)")
    return {
        "intercept": float(params[0] - params[1] * centre),
        "slope": float(params[1]),
        "alpha": alpha,
    }


def size_table(
    observed: Mapping[str, int],
    sizes: Mapping[str, Mapping[str, float]],
    denominator: str = "ipv4",
    level: float = 0.95,
) -> tuple[pl.DataFrame, dict[str, float]]:
    """Observed vs expected per provider with size; returns the table and the model's parameters.

    ``observed`` counts reported URLs per provider name. Providers without a positive size for
    ``denominator`` are left out (their ratio is undefined), and reported as such by the caller.
    Raises :class:`SizeModelError` with a plain reason when the model cannot be fitted.
    """
    names, size, count = _sized(observed, sizes, denominator)
    fit = fit_size_model(count, size)
    intercept, slope, alpha = fit["intercept"], fit["slope"], fit["alpha"]
    expected = np.exp(intercept + slope * np.log(size))
    low, high = ratio_interval(count, expected, alpha, level)
    table = pl.DataFrame(
        {
            "provider": names,
            "size": size,
            "observed": count,
            "expected": expected,
            "ratio": count / expected,
            "ratio_low": low,
            "ratio_high": high,
            "pearson_residual": (count - expected) / np.sqrt(expected + alpha * expected**2),
        }
    ).with_columns(
        flag=pl.when(pl.col("ratio_low") > 1)
        .then(pl.lit("more than expected"))
        .when(pl.col("ratio_high") < 1)
        .then(pl.lit("less than expected"))
        .otherwise(pl.lit("")),
    )
    table = table.sort(["ratio_low", "provider"], descending=[True, False])
    params = {**fit, "providers": float(len(names)), "level": level}
    return table, params


def raw_rates(
    observed: Mapping[str, int],
    sizes: Mapping[str, Mapping[str, float]],
    denominator: str = "ipv4",
) -> pl.DataFrame:
    """Reported URLs per unit of size (:data:`RATE_UNIT`), highest first: what the report shows
    when the model cannot be fitted. No interval and no flag: a rate says nothing about noise."""
    names, size, count = _sized(observed, sizes, denominator)
    unit = RATE_UNIT.get(denominator, 1.0)
    return pl.DataFrame(
        {
            "provider": names,
            "size": size,
            "observed": count,
            "rate": count / (size / unit) if names else np.zeros(0),
        },
        schema={"provider": pl.Utf8, "size": pl.Float64, "observed": pl.Int64, "rate": pl.Float64},
    ).sort(["rate", "provider"], descending=[True, False])
