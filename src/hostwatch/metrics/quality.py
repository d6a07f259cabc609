"""Data quality: how much of a period's evidence the figures can stand on.

Beside every set of takedown figures the report and the API say how many episodes are
unattributed (their own group in every grouping), never confirmed online and not checkable (both
kept out of takedown time), how many checks were inconclusive and why, and when the checker
itself was down, and how the triage queue stood: how many notices waited for an analyst at the
period's end (or now, for a period still running), since when, and the verdicts given in it.

Checker outage windows are the checker's own (:func:`hostwatch.takedown.checker.health.
outage_windows`, the one computation of them): from the first unhealthy batch to the first
healthy one after it (``recovered_at``), or to the period's end while it goes on.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import polars as pl
from sqlalchemy import func, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from hostwatch.attribution.staleness import quality_counts
from hostwatch.metrics.frame import UNATTRIBUTED, build_frame
from hostwatch.metrics.period import Period
from hostwatch.metrics.takedown import NOT_CHECKABLE, NOT_CONFIRMED
from hostwatch.model.check import Check
from hostwatch.takedown.checker.health import outage_windows
from hostwatch.takedown.triage import queue_figures

COLUMNS = {
    "figure": pl.Utf8,
    "count": pl.Int64,
    "share": pl.Float64,
    "start": pl.Utf8,
    "end": pl.Utf8,
}


def checker_outages(conn: Connection, period: Period) -> list[dict[str, Any]]:
    """The checker's outage windows overlapping ``period``, as the document lists them."""
    with Session(bind=conn) as session:
        windows = outage_windows(session, period.start, period.end)
    return [
        {
            "start": w.start.isoformat(),
            "end": w.end.isoformat(),
            "recovered_at": None if w.ongoing else w.end.isoformat(),
            "hours": round((w.end - w.start).total_seconds() / 3600.0, 3),
            "observations": w.batches,
            "reason": w.reason,
            "source": w.source,
        }
        for w in windows
    ]


def inconclusive_checks(conn: Connection, period: Period) -> dict[str, Any]:
    rows = conn.execute(
        select(Check.inconclusive_reason, func.count())
        .where(
            Check.inconclusive_reason.is_not(None),
            Check.checked_at >= period.start,
            Check.checked_at < period.end,
        )
        .group_by(Check.inconclusive_reason)
    ).all()
    by_reason = {str(reason): int(count) for reason, count in sorted(rows)}
    return {"count": sum(by_reason.values()), "by_reason": by_reason}


def triage_queue(conn: Connection, period: Period, now: datetime | None) -> dict[str, Any]:
    """The triage queue at the period's end (or at ``now`` if earlier), and its verdicts."""
    at = min(period.end, now) if now is not None else period.end
    with Session(bind=conn) as session:
        return {"at": at.isoformat(), **queue_figures(session, at, since=period.start)}


def _part(count: int, total: int) -> dict[str, Any]:
    return {"count": count, "share": round(count / total, 6) if total else None}


def frame_quality(frame: pl.DataFrame) -> dict[str, Any]:
    """The part read off the episodes: unattributed, never confirmed online, not checkable."""
    total = frame.height
    return {
        "episodes": total,
        "unattributed": _part(int((frame["provider"] == UNATTRIBUTED).sum()), total),
        "not_confirmed_online": _part(int((frame["evidence"] == NOT_CONFIRMED).sum()), total),
        "not_checkable": _part(int((frame["evidence"] == NOT_CHECKABLE).sum()), total),
    }


def data_quality(
    conn: Connection, frame: pl.DataFrame, period: Period, now: datetime | None = None
) -> dict[str, Any]:
    """The whole data-quality document of ``frame`` (the period's episodes) and its checks."""
    outages = checker_outages(conn, period)
    return {
        **frame_quality(frame),
        "inconclusive_checks": inconclusive_checks(conn, period),
        "stale_attributions": quality_counts(conn, period.start, period.end),
        "checker_outages": {
            "count": len(outages),
            "hours": round(sum(o["hours"] for o in outages), 3),
            "windows": outages,
        },
        "triage": triage_queue(conn, period, now),
    }


def load_quality(
    database_url: str, period: Period, *, offline_after: int = 3, now: datetime | None = None
) -> dict[str, Any]:
    """The data-quality document for ``period`` from the database at ``database_url``."""
    from hostwatch.model.db import engine_for

    with engine_for(database_url).connect() as conn:
        frame = build_frame(conn, period, offline_after=offline_after)
        return data_quality(conn, frame, period, now)


def quality_table(doc: dict[str, Any]) -> pl.DataFrame:
    """The document as rows (figure, count, share, start, end) for table and CSV output."""
    rows: list[dict[str, Any]] = [{"figure": "episodes", "count": doc["episodes"]}]
    for name in ("unattributed", "not_confirmed_online", "not_checkable"):
        rows.append({"figure": name.replace("_", " "), **doc[name]})
    checks = doc.get("inconclusive_checks")
    if checks is not None:
        rows.append({"figure": "inconclusive checks", "count": checks["count"]})
        for reason, count in checks["by_reason"].items():
            rows.append({"figure": f"inconclusive: {reason}", "count": count})
    stale = doc.get("stale_attributions")
    if stale is not None:
        for name in ("stale", "outdated", "anachronistic", "resolved_later"):
            rows.append({"figure": f"attributions {name.replace('_', ' ')}", "count": stale[name]})
    outages = doc.get("checker_outages")
    if outages is not None:
        rows.append({"figure": "checker outage windows", "count": outages["count"]})
        for w in outages["windows"]:
            rows.append(
                {
                    "figure": "checker outage",
                    "count": w["observations"],
                    "start": w["start"],
                    "end": w["end"],
                }
            )
    triage = doc.get("triage")
    if triage is not None:
        rows.append(
            {"figure": "triage queue", "count": triage["waiting"], "start": triage["oldest_since"]}
        )
        for verdict, count in triage["decided"].items():
            rows.append({"figure": f"triage verdicts: {verdict}", "count": count})
    return pl.DataFrame(
        [{name: row.get(name) for name in COLUMNS} for row in rows], schema=COLUMNS, orient="row"
    )
