"""Frames straight from published feed histories, for validation on real takedown times.

The PhishTank lifetimes table (first/last daily snapshot listed, first snapshot absent) and the
URLhaus online intervals (listed from a snapshot until the first snapshot that dropped the host)
are interval-censored takedown histories. No message was sent for them, so the clock starts at
the feed's first report (PhishTank ``submission_time``, URLhaus ``first_seen_utc``); removal lies
between the last snapshot that listed the URL and the first that did not; never dropped means
right-censored at the last snapshot. A URLhaus host that comes back after being dropped starts a
new episode (``clock_start = 'reappearance'``).

This reads the files as ``hostwatch ingest`` would store them, but without a database, so tests
and benchmarks can check the estimators on 10^5-10^6 real histories in seconds. ``attribute``
maps an IP address string to ``(asn, as_name, country)`` or None; the caller brings the routing
table (the metrics layer holds none).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import polars as pl

from hostwatch.metrics.frame import HOUR, UNATTRIBUTED, conform

Attributor = Callable[[str], tuple[int, str | None, str | None] | None]
_UTC = pl.Datetime("us", "UTC")


def _epoch(column: str) -> pl.Expr:
    return pl.col(column).dt.epoch("us").cast(pl.Float64) / 1e6


def _parse_time(column: str) -> pl.Expr:
    return (
        pl.col(column)
        .str.to_datetime("%Y-%m-%dT%H:%M:%S%z", strict=False, time_zone="UTC")
        .cast(_UTC)
    )


def _attribute(frame: pl.DataFrame, attribute: Attributor | None) -> pl.DataFrame:
    """Add asn, as_name, country and provider (``AS<n> <name>``) for rows with an IP."""
    ips = frame["ip"].drop_nulls().unique().to_list() if attribute else []
    answers = [(ip, attribute(ip)) for ip in ips] if attribute else []
    found = pl.DataFrame(
        [(ip, a[0], a[1], a[2]) for ip, a in answers if a is not None],
        schema={"ip": pl.Utf8, "asn": pl.Int64, "as_name": pl.Utf8, "country": pl.Utf8},
        orient="row",
    )
    frame = frame.join(found, on="ip", how="left")
    label = pl.format("AS{} {}", pl.col("asn"), pl.col("as_name").fill_null("")).str.strip_chars()
    return frame.with_columns(
        provider=pl.when(pl.col("asn").is_not_null()).then(label).otherwise(pl.lit(UNATTRIBUTED))
    )


def _registered_domain(hosts: pl.Series) -> pl.Series:
    from publicsuffixlist import PublicSuffixList

    psl = PublicSuffixList()
    unique = hosts.drop_nulls().unique()
    unique = unique.filter(~unique.str.contains(r"^\d{1,3}(\.\d{1,3}){3}$|^\["))
    mapping = {h: psl.privatesuffix(h) for h in unique.to_list()}
    return hosts.replace_strict(mapping, default=None, return_dtype=pl.Utf8)


def _is_ipv4(column: str) -> pl.Expr:
    return pl.col(column).str.contains(r"^\d{1,3}(\.\d{1,3}){3}$")


def _with_bounds(frame: pl.DataFrame) -> pl.DataFrame:
    start = pl.col("start_s")
    right = ((pl.col("absent_s") - start) / HOUR).clip(lower_bound=0.0)
    left = ((pl.col("last_s") - start) / HOUR).clip(lower_bound=0.0)
    return frame.with_columns(
        right_hours=right.fill_null(float("inf")),
        left_hours=pl.min_horizontal(left, right.fill_null(float("inf"))),
        removed=pl.col("absent_s").is_not_null(),
        start_at=pl.from_epoch((start * 1e6).cast(pl.Int64), "us").dt.replace_time_zone("UTC"),
        last_online_at=pl.from_epoch(
            (pl.col("last_s") * 1e6).cast(pl.Int64), "us"
        ).dt.replace_time_zone("UTC"),
        first_offline_at=pl.from_epoch(
            (pl.col("absent_s") * 1e6).cast(pl.Int64), "us"
        ).dt.replace_time_zone("UTC"),
    )


def phishtank_frame(
    lifetimes: Path, snapshot_dates: Path | None, *, attribute: Attributor | None = None
) -> pl.DataFrame:
    """Frame from ``phish_lifetimes.csv.gz`` and ``snapshot_dates.csv`` (folder 04).

    Without the snapshot table a snapshot is taken at 06:00 UTC of its date, as the ingest
    reader does.
    """
    raw = pl.read_csv(lifetimes, infer_schema_length=0)
    if snapshot_dates is not None:
        snaps = pl.read_csv(snapshot_dates).select(
            pl.col("snapshot_date").str.to_date("%Y-%m-%d").alias("day"),
            pl.col("git_commit_time_of_file")
            .str.to_datetime("%Y-%m-%d %H:%M:%S %z", time_zone="UTC")
            .cast(_UTC)
            .alias("taken"),
        )
    else:
        days = pl.concat(
            [raw["last_snapshot_date"], raw["first_absent_snapshot_date"]]
        ).drop_nulls()
        days = days.filter(days != "").unique().str.to_date("%Y-%m-%d")
        snaps = pl.DataFrame({"day": days}).with_columns(
            taken=(
                pl.col("day").cast(pl.Datetime("us")) + pl.duration(hours=6)
            ).dt.replace_time_zone("UTC")
        )
    by_day = dict(zip(snaps["day"].to_list(), snaps["taken"].to_list(), strict=True))
    day = pl.Date
    frame = raw.select(
        pl.col("phish_id").cast(pl.Int64).alias("url_id"),
        pl.col("url"),
        _parse_time("submission_time").alias("notice_at"),
        pl.col("last_snapshot_date")
        .str.to_date()
        .replace_strict(by_day, return_dtype=_UTC)
        .alias("last_seen"),
        pl.col("first_absent_snapshot_date")
        .str.to_date(strict=False)
        .cast(day)
        .replace_strict(by_day, default=None, return_dtype=_UTC)
        .alias("absent"),
    ).with_columns(
        host=pl.col("url")
        .str.extract(r"^[A-Za-z][A-Za-z0-9+.-]*://(?:[^@/?#]*@)?(\[[^\]]*\]|[^:/?#]*)")
        .str.to_lowercase()
        .str.strip_chars_end("."),
    )
    frame = frame.with_columns(
        start_s=_epoch("notice_at"),
        last_s=_epoch("last_seen"),
        absent_s=_epoch("absent"),
        ip=pl.when(_is_ipv4("host")).then(pl.col("host")),
        episode=pl.lit(0, pl.Int32),
        clock_start=pl.lit("notice"),
        notices=pl.lit(1, pl.Int32),
    )
    frame = _with_bounds(frame).with_columns(registered_domain=_registered_domain(frame["host"]))
    return conform(_attribute(frame, attribute).sort("start_at", "url_id"))


def urlhaus_frame(
    intervals: Path, snapshots: Path | None, *, attribute: Attributor | None = None
) -> pl.DataFrame:
    """Frame from ``urlhaus_filter_online_intervals.csv.gz`` and the snapshot list (folder 11).

    The last online sighting of an interval is the last snapshot before its first absence;
    without the snapshot list (``snapshots=None``) only the first sighting is known, as when the
    intervals are ingested alone.
    """
    taken = np.array([], dtype=np.float64)
    if snapshots is not None:
        snap = pl.read_csv(snapshots, infer_schema_length=0).select(
            pl.coalesce(_parse_time("list_updated_header_utc"), _parse_time("commit_time")).alias(
                "taken"
            )
        )
        taken = np.sort(snap["taken"].dt.epoch("us").to_numpy().astype(np.float64) / 1e6)
    raw = pl.read_csv(intervals, infer_schema_length=0)
    frame = raw.select(
        pl.col("entry"),
        pl.col("entry_type"),
        pl.col("interval_idx").cast(pl.Int32).alias("episode"),
        _parse_time("first_seen_utc").alias("first_seen"),
        _parse_time("first_absent_utc").alias("absent"),
    ).with_columns(start_s=_epoch("first_seen"), absent_s=_epoch("absent"))
    absent = frame["absent_s"].to_numpy()
    before = np.searchsorted(taken, np.nan_to_num(absent, nan=np.inf), side="left") - 1
    last = taken[np.clip(before, 0, len(taken) - 1)] if taken.size else frame["start_s"]
    frame = frame.with_columns(last_s=pl.Series(last)).with_columns(
        last_s=pl.max_horizontal("last_s", "start_s")
    )
    frame = frame.with_columns(
        host=pl.col("entry").str.split("/").list.first().str.to_lowercase(),
        url=pl.col("entry"),
        url_id=(pl.col("entry").hash(seed=0) // 2).cast(pl.Int64),
        ip=pl.when(pl.col("entry_type") == "ipv4").then(pl.col("entry")),
        clock_start=pl.when(pl.col("episode") == 0)
        .then(pl.lit("notice"))
        .otherwise(pl.lit("reappearance")),
        notice_at=pl.col("first_seen").min().over("entry"),
        notices=pl.when(pl.col("episode") == 0).then(1).otherwise(0).cast(pl.Int32),
    )
    frame = _with_bounds(frame)
    frame = frame.with_columns(registered_domain=_registered_domain(frame["host"]))
    return conform(_attribute(frame, attribute).sort("start_at", "url_id", "episode"))
