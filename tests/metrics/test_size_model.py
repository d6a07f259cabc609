"""The size model on the simulated world, on degenerate inputs that broke the maximum-likelihood
fit, and on real address-space denominators (RouteViews prefix-to-AS table, shared data 02)."""

from __future__ import annotations

import gzip
import ipaddress
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from hostwatch.metrics.address_space import union_sizes
from hostwatch.metrics.size import SizeModelError, raw_rates, size_table
from hostwatch.metrics.synthetic import synthetic_world


def test_simulated_world_with_zero_report_providers_recovers_the_slope() -> None:
    world = synthetic_world(20_000, n_providers=300, seed=11)
    observed = dict(world.frame.group_by("provider").agg(pl.col("url_id").n_unique()).iter_rows())
    assert len(observed) < len(world.sizes) or min(observed.values()) >= 0
    table, params = size_table(observed, world.sizes)
    assert table.height == len(world.sizes)  # providers without reports are in the fit
    assert 0.6 < params["slope"] < 1.0  # the world draws hosts with weight size**0.8
    flagged = set(table.filter(pl.col("flag") == "more than expected")["provider"])
    assert flagged & set(world.bad_providers)


def test_underdispersed_counts_fit_as_poisson_instead_of_a_singular_matrix() -> None:
    """Counts exactly proportional to size: the NB likelihood's dispersion runs to 0 and the
    old maximum-likelihood fit stopped at "Singular matrix"."""
    sizes = {f"p{i}": {"ipv4": float(256 * 2**i)} for i in range(9)}
    observed = {f"p{i}": 2**i for i in range(9)}
    table, params = size_table(observed, sizes)
    assert params["alpha"] == 0.0
    assert params["slope"] == pytest.approx(1.0, abs=1e-6)
    assert (table["flag"] == "").all()


@pytest.mark.parametrize(
    ("observed", "sizes", "reason"),
    [
        ({"a": 3}, {"a": {"ipv4": 256}}, "only 1 provider has a known size"),
        (
            {f"p{i}": i for i in range(6)},
            {f"p{i}": {"ipv4": 1024} for i in range(6)},
            "every provider has the same size",
        ),
        ({}, {f"p{i}": {"ipv4": 256 * (i + 1)} for i in range(6)}, "no reported material"),
    ],
)
def test_unfittable_inputs_say_why_in_words(observed, sizes, reason) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SizeModelError, match=reason):
        size_table(observed, sizes)
    rates = raw_rates(observed, sizes)
    assert rates.height == len(sizes)
    assert (rates["rate"] >= 0).all()


def _ipasn_sizes(path: Path) -> dict[str, dict[str, float]]:
    """IPv4 addresses announced per origin AS (union of its prefixes) from a pyasn table."""
    origins, starts, lengths = [], [], []
    with gzip.open(path, "rt") as handle:
        for line in handle:
            if line.startswith(";"):
                continue
            prefix, _, asn = line.strip().partition("\t")
            if not asn.isdigit():
                continue
            net = ipaddress.ip_network(prefix, strict=False)
            origins.append(int(asn))
            starts.append(int(net.network_address))
            lengths.append(net.num_addresses)
    sizes = union_sizes(np.array(origins), np.array(starts), np.array(lengths))
    return {f"AS{asn}": {"ipv4": size} for asn, size in sizes.items()}


def test_real_address_space_denominators(shared_data: Path) -> None:
    """Sizes of ~45,000 real ASes (heavy-tailed: /24 stubs to /8 holders); counts drawn from a
    known NB model with planted abusers and most ASes at zero, as real reports are."""
    sizes = _ipasn_sizes(next(shared_data.glob("02_*")) / "ipasn_20140513.dat.gz")
    assert len(sizes) > 30_000
    names = sorted(sizes)
    size = np.array([sizes[n]["ipv4"] for n in names])
    rng = np.random.default_rng(2)
    mean = np.exp(-9.0 + 0.7 * np.log(size))
    planted = rng.choice(len(names), 40, replace=False)
    planted = planted[mean[planted] > 2.0][:20]
    mean[planted] *= 8.0
    alpha = 0.5
    counts = rng.negative_binomial(1 / alpha, 1 / (1 + alpha * mean))
    assert (counts == 0).mean() > 0.5
    observed = {n: int(c) for n, c in zip(names, counts, strict=True) if c}
    table, params = size_table(observed, sizes)
    assert table.height == len(names)
    assert params["slope"] == pytest.approx(0.7, abs=0.05)
    assert params["alpha"] == pytest.approx(alpha, rel=0.35)
    flagged = set(table.filter(pl.col("flag") == "more than expected")["provider"])
    caught = flagged & {names[i] for i in planted}
    assert len(caught) >= len(planted) // 2
    assert len(flagged - caught) <= 0.01 * len(names)
