"""Exposure, concentration, size normalisation, trends, displacement, periods, pseudonyms."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
import pytest

from hostwatch.metrics.concentration import concentration
from hostwatch.metrics.displacement import flows, repeat_offences
from hostwatch.metrics.exposure import exposure_table, exposure_totals
from hostwatch.metrics.frame import conform
from hostwatch.metrics.period import parse_period
from hostwatch.metrics.pseudonymise import pseudonym, pseudonymise_frame
from hostwatch.metrics.size import ratio_interval, size_table
from hostwatch.metrics.synthetic import synthetic_world
from hostwatch.metrics.takedown import figures, takedown_table
from hostwatch.metrics.trends import quarterly

T0 = datetime(2024, 1, 10, tzinfo=UTC)


def _frame(rows: list[dict]) -> pl.DataFrame:
    base = {
        "notices": 1,
        "clock_start": "message",
        "removed": True,
        "left_hours": 1.0,
        "right_hours": 2.0,
    }
    frame = pl.DataFrame([{**base, **r} for r in rows])
    return conform(frame.with_columns(pl.col("start_at").cast(pl.Datetime("us", "UTC"))))


def test_concentration_extremes() -> None:
    equal = concentration(np.full(10, 5))
    assert equal["gini"] == pytest.approx(0.0)
    assert equal["hhi"] == pytest.approx(1000.0)
    assert equal["top1_share"] == pytest.approx(0.1)
    single = concentration(np.array([0, 0, 7]))
    assert single["hhi"] == pytest.approx(10_000.0) and single["parties"] == 1
    skewed = concentration(np.array([1] * 99 + [901]))
    assert skewed["top1_share"] == pytest.approx(0.901) and skewed["gini"] > 0.85
    assert skewed["lorenz"]["y"][-1] == pytest.approx(1.0)


def test_size_model_flags_the_bad_and_never_the_tiny() -> None:
    world = synthetic_world(60_000, n_providers=400, seed=4)
    observed = dict(world.frame.group_by("provider").agg(pl.col("url_id").n_unique()).iter_rows())
    table, params = size_table(observed, world.sizes)
    assert 0.5 < params["slope"] < 1.1
    high = table.filter(pl.col("flag") == "more than expected")["provider"].to_list()
    assert set(high) & set(world.bad_providers)
    caught = len(set(high) & set(world.bad_providers)) / len(world.bad_providers)
    assert caught >= 0.5
    assert (table.filter(pl.col("flag") != "")["ratio_low"] > 1).sum() == len(high)
    tiny = table.filter(pl.col("expected") < 1.0)
    assert (tiny["flag"] != "more than expected").all() or (tiny["observed"] >= 5).all()
    inside = table.filter(
        (pl.col("ratio") < pl.col("ratio_low")) | (pl.col("ratio") > pl.col("ratio_high"))
    )
    assert inside.is_empty()


def test_ratio_interval_widens_for_small_counts() -> None:
    low, high = ratio_interval(np.array([2, 200]), np.array([1.0, 100.0]), alpha=0.1)
    assert high[0] / low[0] > high[1] / low[1]
    assert low[0] < 2 < high[0] and low[1] < 2 < high[1]


def test_size_model_needs_enough_providers() -> None:
    with pytest.raises(ValueError, match="at least 5 providers"):
        size_table({"a": 3}, {"a": {"ipv4": 256}})


def test_exposure_counts_distinct_things_and_the_national_share() -> None:
    frame = _frame(
        [
            {
                "url_id": 1,
                "host": "a.nl",
                "registered_domain": "a.nl",
                "ip": "192.0.2.1",
                "provider": "P",
                "country": "NL",
                "start_at": T0,
                "notices": 3,
            },
            {
                "url_id": 1,
                "episode": 1,
                "host": "a.nl",
                "registered_domain": "a.nl",
                "ip": "192.0.2.1",
                "provider": "P",
                "country": "NL",
                "start_at": T0,
                "notices": 3,
            },
            {
                "url_id": 2,
                "host": "b.a.nl",
                "registered_domain": "a.nl",
                "ip": "192.0.2.1",
                "provider": "P",
                "country": "NL",
                "start_at": T0,
            },
            {
                "url_id": 3,
                "host": "c.de",
                "registered_domain": "c.de",
                "ip": "192.0.2.9",
                "provider": "Q",
                "country": "DE",
                "start_at": T0,
            },
        ]
    )
    table = {r["group"]: r for r in exposure_table(frame, "provider", "NL").to_dicts()}
    assert table["P"]["urls"] == 2 and table["P"]["notices"] == 4
    assert table["P"]["hosts"] == 2 and table["P"]["registered_domains"] == 1
    assert table["P"]["ips"] == 1 and table["P"]["share_of_country"] == pytest.approx(1.0)
    assert table["Q"]["share_of_country"] is None
    totals = exposure_totals(frame, "NL")
    assert totals["urls"] == 3 and totals["urls_in_country"] == 2 and totals["notices"] == 5


def test_buckets_add_up_and_groups_add_up() -> None:
    world = synthetic_world(8000, n_providers=30, seed=8)
    overall = figures(world.frame)
    parts = overall["removed_within_24h"] + overall["removed_24_48h"] + overall["removed_over_48h"]
    assert parts == pytest.approx(1.0, abs=1e-5)
    assert (
        overall["removed_within_1h"]
        <= overall["removed_within_12h"]
        <= (overall["removed_within_24h"] <= overall["removed_within_24h_upper"])
    )
    for by in ("provider", "reseller", "asn", "country"):
        table = takedown_table(world.frame, by)
        assert table["n"].sum() == world.frame.height


def test_moves_and_repeat_offences() -> None:
    frame = _frame(
        [
            {
                "url_id": 1,
                "host": "h.example",
                "provider": "A",
                "start_at": T0,
                "first_offline_at": T0 + timedelta(hours=5),
                "reseller": "R",
            },
            {
                "url_id": 2,
                "host": "h.example",
                "provider": "B",
                "start_at": T0 + timedelta(days=2),
                "reseller": "R",
            },
            {
                "url_id": 3,
                "host": "h.example",
                "provider": "unattributed",
                "start_at": T0 + timedelta(days=3),
            },
            {"url_id": 4, "host": "h.example", "provider": "C", "start_at": T0 + timedelta(days=4)},
            {"url_id": 5, "host": "k.example", "provider": "A", "start_at": T0, "reseller": "S"},
            {"url_id": 6, "host": "k.example", "provider": "A", "start_at": T0, "reseller": "S"},
        ]
    )
    result = {(r["from_provider"], r["to_provider"]): r["moves"] for r in flows(frame).to_dicts()}
    assert result == {("A", "B"): 1, ("B", "C"): 1}
    repeats = repeat_offences(frame, "reseller").to_dicts()
    assert repeats == [
        {
            "reseller": "R",
            "episodes": 2,
            "repeat_episodes": 1,
            "hosts": 1,
            "providers": 2,
            "first_start": T0,
            "last_start": T0 + timedelta(days=2),
        }
    ]


def test_quarterly_trends_and_top_changes() -> None:
    world = synthetic_world(20_000, n_providers=80, seed=6)
    doc = quarterly(world.frame, "provider", top=5)
    assert doc["quarters"] == ["2024Q1", "2024Q2", "2024Q3", "2024Q4"]
    assert sum(q["n"] for q in doc["overall"]) == world.frame.height
    assert all(0 <= q["removed_within_24h"] <= 1 for q in doc["overall"])
    assert len(doc["top_changes"]) == 3
    for change in doc["top_changes"]:
        assert len(change["entered"]) == len(change["left"])


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("2024", datetime(2024, 1, 1, tzinfo=UTC), datetime(2025, 1, 1, tzinfo=UTC)),
        ("2024Q4", datetime(2024, 10, 1, tzinfo=UTC), datetime(2025, 1, 1, tzinfo=UTC)),
        (
            "2024-02-01..2024-03-01",
            datetime(2024, 2, 1, tzinfo=UTC),
            datetime(2024, 3, 1, tzinfo=UTC),
        ),
    ],
)
def test_periods(text: str, start: datetime, end: datetime) -> None:
    period = parse_period(text)
    assert (period.start, period.end) == (start, end)


@pytest.mark.parametrize("bad", ["24", "2024Q5", "2024-03-01..2024-02-01", "last year"])
def test_bad_periods_name_the_input(bad: str) -> None:
    with pytest.raises(ValueError, match="period"):
        parse_period(bad)


def test_pseudonymised_frame_has_no_urls_hosts_or_ips() -> None:
    world = synthetic_world(500, n_providers=10, seed=2)
    out = pseudonymise_frame(world.frame, "secret")
    assert "url" not in out.columns
    host = world.frame["host"][0]
    assert out["host"][0] == pseudonym(host, "secret") != host
    assert not set(out["ip"].to_list()) & set(world.frame["ip"].to_list())
    assert out["provider"].to_list() == world.frame["provider"].to_list()
