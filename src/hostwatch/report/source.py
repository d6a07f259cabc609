"""The report from the database: the frame for the period plus the snapshots it rests on."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select

from hostwatch.metrics.frame import build_frame
from hostwatch.metrics.period import Period
from hostwatch.metrics.quality import data_quality
from hostwatch.model.snapshot import Snapshot
from hostwatch.report.build import ReportFiles, ReportOptions, write_report


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


def report_from_database(
    database_url: str,
    period: Period,
    out_dir: Path,
    options: ReportOptions,
    *,
    offline_after: int = 3,
    pdf: bool = True,
) -> ReportFiles:
    from hostwatch.model.db import engine_for

    with engine_for(database_url).connect() as conn:
        frame = build_frame(conn, period, offline_after=offline_after)
        options.snapshots = list(options.snapshots) or snapshots_used(conn)
        options.quality = data_quality(conn, frame, period, options.generated_at)
    options.period_label = period.label
    if not options.sources:
        options.sources = [f"hostwatch database ({engine_for(database_url).dialect.name})"]
    return write_report(frame, out_dir, options, pdf=pdf)
