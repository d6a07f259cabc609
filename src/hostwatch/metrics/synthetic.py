"""Simulated case histories with known behaviour, for benchmarks, tests and demonstrations.

Providers differ in size (address space, heavy-tailed), in abuse rate per address (a few are
several times worse than their size predicts) and in removal speed; the check schedule (every
``check_hours`` after the first message, with minutes of jitter) turns each true removal time into
the interval a real checker would record. Anything built from this is labelled simulated.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import polars as pl

from hostwatch.metrics.frame import conform

_COUNTRIES = np.array(["NL", "DE", "US", "FR", "GB", "RU", "SE", "LT", "BG", "SC"])
_COUNTRY_WEIGHTS = np.array([0.3, 0.15, 0.2, 0.06, 0.06, 0.08, 0.04, 0.04, 0.04, 0.03])


@dataclass(frozen=True)
class SyntheticWorld:
    frame: pl.DataFrame
    sizes: dict[str, dict[str, float]]  # provider -> {"ipv4": addresses, "ipv6_48": /48 count}
    bad_providers: list[str]  # simulated to host several times what their size predicts


def _times(start: datetime, end: datetime, n: int, rng: np.random.Generator) -> np.ndarray:
    lo, hi = start.timestamp(), end.timestamp()
    return np.sort(rng.uniform(lo, hi, n))


def synthetic_world(
    n_cases: int,
    *,
    n_providers: int = 1500,
    start: datetime = datetime(2024, 1, 1, tzinfo=UTC),
    end: datetime = datetime(2025, 1, 1, tzinfo=UTC),
    check_hours: float = 6.0,
    seed: int = 7,
) -> SyntheticWorld:
    rng = np.random.default_rng(seed)
    names = np.array([f"Hoster {i:04d} B.V." for i in range(n_providers)])
    size = np.round(256 * rng.pareto(1.1, n_providers) + 256)
    rate = np.exp(rng.normal(0.0, 0.3, n_providers))
    bad = rng.choice(n_providers, size=max(1, n_providers // 100), replace=False)
    rate[bad] *= 6.0
    weight = size**0.8 * rate
    speed = np.exp(rng.normal(np.log(10.0), 1.0, n_providers))  # median hours to removal
    never = rng.uniform(0.0, 0.08, n_providers)
    country = rng.choice(_COUNTRIES, n_providers, p=_COUNTRY_WEIGHTS)
    asn = 64512 + np.arange(n_providers)

    # Hosts stay with their provider, except a few that move (displacement).
    n_hosts = max(n_cases // 3, 1)
    host_provider = rng.choice(n_providers, n_hosts, p=weight / weight.sum())
    host_no = rng.integers(0, n_hosts, n_cases)
    provider = host_provider[host_no]
    moved = rng.random(n_cases) < 0.03
    provider[moved] = rng.choice(n_providers, int(moved.sum()), p=weight / weight.sum())
    notice_s = _times(start, end, n_cases, rng)
    message_s = np.minimum(notice_s + rng.exponential(2.0 * 3600, n_cases), end.timestamp() - 1)
    true_h = np.exp(rng.normal(np.log(speed[provider]), 1.2))
    true_h[rng.random(n_cases) < never[provider]] = np.inf

    # The checker sees the URL at message + k * check_hours (+ a few minutes' jitter).
    jitter = rng.uniform(0.0, 0.25, n_cases)
    k = np.floor(true_h / check_hours)
    left = np.where(np.isfinite(true_h), k * check_hours + jitter, 0.0)
    left = np.where(k == 0, 0.0, left)
    right = np.where(np.isfinite(true_h), (k + 1) * check_hours + jitter, np.inf)
    horizon_h = np.maximum((end.timestamp() - message_s) / 3600.0, 0.0)
    censored = right > horizon_h
    last_check = np.floor(np.maximum(horizon_h - jitter, 0) / check_hours) * check_hours + jitter
    left = np.where(censored, np.minimum(np.maximum(left, last_check), horizon_h), left)
    left = np.where(censored & (k == 0), np.minimum(left, horizon_h), left)
    right = np.where(censored, np.inf, right)
    left = np.round(np.minimum(left, right), 4)
    right = np.round(right, 4)

    reseller_of = rng.random(n_cases) < 0.3
    reseller_no = rng.integers(0, 5, n_cases)
    ip_tail = rng.integers(1, 254, n_cases)
    frame = pl.DataFrame(
        {
            "case_id": np.arange(1, n_cases + 1, dtype=np.int64),
            "url_id": np.arange(1, n_cases + 1, dtype=np.int64),
            "episode": np.zeros(n_cases, dtype=np.int32),
            "start_s": message_s,
            "notice_s": notice_s,
            "left_hours": left,
            "right_hours": right,
            "provider_no": provider,
            "reseller_no": np.where(reseller_of, reseller_no, -1),
            "host_no": host_no,
            "ip_tail": ip_tail,
        }
    )
    providers = pl.DataFrame(
        {
            "provider_no": np.arange(n_providers),
            "provider": names,
            "asn": asn,
            "country": country,
        }
    )
    us = pl.Datetime("us", "UTC")
    frame = frame.join(providers, on="provider_no", how="left").with_columns(
        clock_start=pl.lit("message"),
        start_at=(pl.col("start_s") * 1e6).cast(pl.Int64).cast(us),
        notice_at=(pl.col("notice_s") * 1e6).cast(pl.Int64).cast(us),
        first_message_at=(pl.col("start_s") * 1e6).cast(pl.Int64).cast(us),
        removed=pl.col("right_hours").is_finite(),
        hotline_hours=(pl.col("start_s") - pl.col("notice_s")) / 3600.0,
        notices=pl.lit(1, pl.Int32),
        reseller=pl.when(pl.col("reseller_no") >= 0).then(
            pl.format("Reseller {} of {}", pl.col("reseller_no"), pl.col("provider"))
        ),
        as_name=pl.format("HOSTER-{}", pl.col("provider_no")),
        host=pl.format("site{}.example", pl.col("host_no")),
        registered_domain=pl.format("site{}.example", pl.col("host_no")),
        ip=pl.format(
            "198.{}.{}.{}",
            pl.col("provider_no") // 256,
            pl.col("provider_no") % 256,
            pl.col("ip_tail"),
        ),
        url=pl.format("http://site{}.example/p/{}", pl.col("host_no"), pl.col("case_id")),
        is_cdn=pl.lit(False),
    )
    frame = frame.with_columns(
        last_online_at=((pl.col("start_s") + pl.col("left_hours") * 3600) * 1e6)
        .cast(pl.Int64)
        .cast(us),
        first_offline_at=pl.when(pl.col("removed")).then(
            ((pl.col("start_s") + pl.col("right_hours") * 3600) * 1e6).cast(pl.Int64).cast(us)
        ),
    )
    sizes = {
        str(names[i]): {"ipv4": float(size[i]), "ipv6_48": float(max(1, size[i] // 1024))}
        for i in range(n_providers)
    }
    return SyntheticWorld(conform(frame), sizes, [str(names[i]) for i in bad])
