"""Exposure: how much reported material a party hosted, and for how long.

Counts are of distinct things (URLs, hosts, registered domains, IPs) so that a URL reported ten
times is one URL with ten notices. ``url_hours_online`` sums, per episode, the hours it was proven
online after the clock start (up to its last online sighting): a lower bound, since the content
may have stayed up until the first offline sighting. ``share_of_country`` is the group's share of
all URLs hosted in the configured country (``settings.country``), for groups in that country.
"""

from __future__ import annotations

import polars as pl

from hostwatch.metrics.groups import with_group


def exposure_table(frame: pl.DataFrame, by: str = "provider", country: str = "NL") -> pl.DataFrame:
    grouped = with_group(frame, by)
    national = grouped.filter(pl.col("country") == country)["url_id"].n_unique()
    first_rows = grouped.unique(subset=["group", "url_id"], keep="first")
    notices = first_rows.group_by("group").agg(pl.col("notices").sum().alias("notices"))
    table = grouped.group_by("group").agg(
        pl.len().alias("episodes"),
        pl.col("url_id").n_unique().alias("urls"),
        pl.col("host").drop_nulls().n_unique().alias("hosts"),
        pl.col("registered_domain").drop_nulls().n_unique().alias("registered_domains"),
        pl.col("ip").drop_nulls().n_unique().alias("ips"),
        pl.col("left_hours").sum().alias("url_hours_online"),
        pl.col("url_id").filter(pl.col("country") == country).n_unique().alias("in_country"),
    )
    table = table.join(notices, on="group", how="left").with_columns(
        share_of_all=pl.col("urls") / max(frame["url_id"].n_unique(), 1),
        share_of_country=pl.when(pl.col("in_country") > 0)
        .then(pl.col("in_country") / max(national, 1))
        .otherwise(None),
    )
    return table.select(
        "group",
        "notices",
        "urls",
        "hosts",
        "registered_domains",
        "ips",
        "episodes",
        "url_hours_online",
        "share_of_all",
        "share_of_country",
    ).sort(["urls", "group"], descending=[True, False])


def exposure_totals(frame: pl.DataFrame, country: str = "NL") -> dict[str, float | int]:
    first_rows = frame.unique(subset=["url_id"], keep="first")
    return {
        "notices": int(first_rows["notices"].sum() or 0),
        "urls": frame["url_id"].n_unique(),
        "hosts": frame["host"].drop_nulls().n_unique(),
        "registered_domains": frame["registered_domain"].drop_nulls().n_unique(),
        "ips": frame["ip"].drop_nulls().n_unique(),
        "episodes": frame.height,
        "url_hours_online": float(frame["left_hours"].sum() or 0.0),
        "urls_in_country": frame.filter(pl.col("country") == country)["url_id"].n_unique(),
        "country": country,  # type: ignore[dict-item]
    }
