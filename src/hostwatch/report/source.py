"""The report from the database: the frame for the period (and the one before it, for the
summary's comparison), the snapshots it rests on, its data quality and the providers' replies."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import select

from hostwatch.metrics.frame import build_frame
from hostwatch.metrics.ownership import ownership_report, read_parties
from hostwatch.metrics.period import Period
from hostwatch.metrics.quality import data_quality
from hostwatch.metrics.reachability import load_reachability
from hostwatch.model.snapshot import Snapshot
from hostwatch.report.build import ReportFiles, ReportOptions, write_report

OPEN_START = datetime(1971, 1, 1, tzinfo=UTC)


def snapshots_used(conn: Any) -> list[dict[str, Any]]:
    """Every reference snapshot loaded (kind, name, valid_at), for the methods section."""
    rows = conn.execute(
        select(Snapshot.kind, Snapshot.name, Snapshot.valid_at).order_by(
            Snapshot.kind, Snapshot.valid_at
        )
    ).fetchall()
    return [
        {"kind": kind, "name": name, "valid_at": valid_at.strftime("%Y-%m-%d %H:%M UTC")}
        for kind, name, valid_at in rows
    ]


def previous_period(period: Period) -> Period | None:
    """The period of the same length just before ``period`` (2024 -> 2023, 2024Q1 -> 2023Q4);
    None for "all data", which has nothing before it."""
    if period.start < OPEN_START:
        return None
    start = period.start - (period.end - period.start)
    if re.fullmatch(r"\d{4}", period.label):
        label = str(int(period.label) - 1)
    elif match := re.fullmatch(r"(\d{4})Q([1-4])", period.label):
        year, quarter = int(match.group(1)), int(match.group(2))
        label = f"{year - 1}Q4" if quarter == 1 else f"{year}Q{quarter - 1}"
    else:
        label = f"{start.date().isoformat()}..{period.start.date().isoformat()}"
    return Period(start, period.start, label)


def report_from_database(
    database_url: str,
    period: Period,
    out_dir: Path,
    options: ReportOptions,
    *,
    offline_after: int = 3,
    pdf: bool = True,
) -> ReportFiles:
    from sqlalchemy.orm import Session

    from hostwatch.model.db import engine_for
    from hostwatch.report.replies import replies_for

    before = previous_period(period)
    previous: pl.DataFrame | None = None
    with engine_for(database_url).connect() as conn:
        frame = build_frame(conn, period, offline_after=offline_after)
        if before is not None:
            previous = build_frame(conn, before, offline_after=offline_after)
            options.previous_label = before.label
        options.snapshots = list(options.snapshots) or snapshots_used(conn)
        options.quality = data_quality(conn, frame, period, options.generated_at)
        options.ownership = ownership_report(frame, read_parties(conn), options.country)
        with Session(bind=conn) as session:
            options.replies = replies_for(session, period.label)
    options.reachability = load_reachability(database_url, period)
    options.period_label = period.label
    if not options.sources:
        options.sources = [f"hostwatch database ({engine_for(database_url).dialect.name})"]
    if previous is not None and previous.is_empty():
        previous = None
    return write_report(frame, out_dir, options, pdf=pdf, previous=previous)
