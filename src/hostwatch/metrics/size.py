"""Size normalisation: does a provider host more reported material than its size predicts?

Big hosters host more of everything, so raw counts name the big ones. A negative binomial model
``log E[count] = a + b log(size)`` (statsmodels; the dispersion ``alpha`` absorbs the extra
variation between providers) gives each provider an expected count. The score is
observed / expected with a 95% interval: the rate ratio theta for which the observed count is
still plausible under NB(theta * expected, alpha), found by bisection on the NB tail
probabilities; plus the Pearson residual (O - E) / sqrt(E + alpha E^2).

A provider is flagged only where the interval excludes 1. Small providers get wide intervals
(the NB tail is wide at small means), so they are never named on noise, and flagged providers
are ranked by the interval's lower bound, not by the ratio.

The size denominators (announced IPv4 addresses, IPv6 /48s, hosted domains) come from the
caller: ``sizes`` maps provider name to ``{"ipv4": n, "ipv6_48": n, "domains": n}``. Providers
in ``sizes`` with no reported material count as observed 0; leaving them out would bias the fit.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import polars as pl
from scipy.stats import nbinom

MIN_PROVIDERS = 5


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


def size_table(
    observed: Mapping[str, int],
    sizes: Mapping[str, Mapping[str, float]],
    denominator: str = "ipv4",
    level: float = 0.95,
) -> tuple[pl.DataFrame, dict[str, float]]:
    """Observed vs expected per provider with size; returns the table and the model's parameters.

    ``observed`` counts reported URLs per provider name. Providers without a positive size for
    ``denominator`` are left out (their ratio is undefined), and reported as such by the caller.
    """
    from statsmodels.discrete.discrete_model import NegativeBinomial

    names = sorted(p for p, s in sizes.items() if (s.get(denominator) or 0) > 0)
    if len(names) < MIN_PROVIDERS:
        raise ValueError(
            f"size model needs at least {MIN_PROVIDERS} providers with a {denominator} size; "
            f"got {len(names)}"
        )
    size = np.array([float(sizes[p][denominator]) for p in names])
    count = np.array([int(observed.get(p, 0)) for p in names])
    exog = np.column_stack([np.ones_like(size), np.log(size)])
    model = NegativeBinomial(count, exog).fit(disp=0, maxiter=200)
    intercept, slope, alpha = (float(v) for v in model.params)
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
    params = {
        "intercept": intercept,
        "slope": slope,
        "alpha": alpha,
        "providers": float(len(names)),
        "level": level,
    }
    return table, params
