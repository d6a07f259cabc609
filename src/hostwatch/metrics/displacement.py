"""Displacement: material that moved between providers, and parties that offend again.

A move is the same host (or the same URL) seen at one provider and later at another: consecutive
episodes of that host, ordered by clock start, whose attributed providers differ. Unattributed
episodes are skipped rather than counted as moves. A repeat offence is an episode of a party
(reseller, registered domain as the customer, or provider) whose clock started after an earlier
episode of the same party had been confirmed removed.
"""

from __future__ import annotations

import polars as pl

from hostwatch.metrics.frame import UNATTRIBUTED


def moves(frame: pl.DataFrame, unit: str = "host") -> pl.DataFrame:
    """Every change of provider between consecutive episodes of the same ``unit`` (host/url)."""
    return (
        frame.filter(pl.col(unit).is_not_null() & (pl.col("provider") != UNATTRIBUTED))
        .sort(unit, "start_at")
        .with_columns(
            from_provider=pl.col("provider").shift(1).over(unit),
            moved_at=pl.col("start_at"),
        )
        .filter(
            pl.col("from_provider").is_not_null() & (pl.col("from_provider") != pl.col("provider"))
        )
        .select(unit, "from_provider", pl.col("provider").alias("to_provider"), "moved_at")
    )


def flows(frame: pl.DataFrame, unit: str = "host") -> pl.DataFrame:
    """Moves counted per (from, to) pair, largest first."""
    return (
        moves(frame, unit)
        .group_by("from_provider", "to_provider")
        .agg(pl.len().alias("moves"), pl.col(unit).n_unique().alias(f"{unit}s"))
        .sort(["moves", "from_provider", "to_provider"], descending=[True, False, False])
    )


def repeat_offences(frame: pl.DataFrame, party: str = "reseller") -> pl.DataFrame:
    """Per party: episodes, those started after an earlier one was removed, hosts, providers."""
    removed_s = pl.col("first_offline_at").dt.epoch("us")
    data = (
        frame.filter(pl.col(party).is_not_null())
        .sort(party, "start_at")
        .with_columns(
            earliest_removal=removed_s.fill_null(2**62).cum_min().shift(1).over(party),
        )
        .with_columns(
            repeat=pl.col("start_at").dt.epoch("us") > pl.col("earliest_removal").fill_null(2**62)
        )
    )
    return (
        data.group_by(party)
        .agg(
            pl.len().alias("episodes"),
            pl.col("repeat").sum().alias("repeat_episodes"),
            pl.col("host").n_unique().alias("hosts"),
            pl.col("provider").n_unique().alias("providers"),
            pl.col("start_at").min().alias("first_start"),
            pl.col("start_at").max().alias("last_start"),
        )
        .filter(pl.col("repeat_episodes") > 0)
        .sort(["repeat_episodes", party], descending=[True, False])
    )
