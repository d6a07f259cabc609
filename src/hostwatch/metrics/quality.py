"""Data quality: how much of a period's evidence the figures can stand on.

Beside every set of takedown figures the report and the API say how many episodes are
unattributed (their own group in every grouping), never confirmed online and not checkable (both
kept out of takedown time), how many checks were inconclusive and why, and when the checker
itself was down.

Checker outage windows come from the checker's health records: Observation rows of kind
``checker-health`` whose ``data["ok"]`` is false. Consecutive failing records (no healthy record
between them) form one window, from the first to the last failing record; ``recovered_at`` is the
next healthy record, if any, and the window's hours run to it. This module computes the windows
itself from those rows, so it needs nothing from the checker but that contract.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import polars as pl
from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from hostwatch.metrics.frame import UNATTRIBUTED, build_frame
from hostwatch.metrics.period import Period
from hostwatch.metrics.takedown import NOT_CHECKABLE, NOT_CONFIRMED
from hostwatch.model.check import Check
from hostwatch.model.observation import Observation

HEALTH_KIND = "checker-health"
COLUMNS = {
    "figure": pl.Utf8,
    "count": pl.Int64,
    "share": pl.Float64,
    "start": pl.Utf8,
    "end": pl.Utf8,
}


@dataclass(frozen=True)
class Outage:
    start: datetime
    end: datetime
    recovered_at: datetime | None
    observations: int

    @property
    def hours(self) -> float:
        """From the first failing record to the recovery (the last failing one while not yet)."""
        return ((self.recovered_at or self.end) - self.start).total_seconds() / 3600.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "recovered_at": self.recovered_at.isoformat() if self.recovered_at else None,
            "hours": round(self.hours, 3),
            "observations": self.observations,
        }


def outage_windows(records: list[tuple[datetime, bool]]) -> list[Outage]:
    """Runs of failing health records (``(observed_at, ok)``, any order) as windows."""
    windows: list[Outage] = []
    run: list[datetime] = []
    for at, ok in sorted(records, key=lambda r: r[0]):
        if not ok:
            run.append(at)
            continue
        if run:
            windows.append(Outage(run[0], run[-1], at, len(run)))
            run = []
    if run:
        windows.append(Outage(run[0], run[-1], None, len(run)))
    return windows


def _health_ok(data: Any) -> bool:
    return not (isinstance(data, dict) and data.get("ok") is False)


def checker_outages(conn: Connection, period: Period) -> list[Outage]:
    rows = conn.execute(
        select(Observation.observed_at, Observation.data).where(
            Observation.kind == HEALTH_KIND,
            Observation.observed_at >= period.start,
            Observation.observed_at < period.end,
        )
    ).all()
    return outage_windows([(at, _health_ok(data)) for at, data in rows])


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


def data_quality(conn: Connection, frame: pl.DataFrame, period: Period) -> dict[str, Any]:
    """The whole data-quality document of ``frame`` (the period's episodes) and its checks."""
    outages = checker_outages(conn, period)
    return {
        **frame_quality(frame),
        "inconclusive_checks": inconclusive_checks(conn, period),
        "checker_outages": {
            "count": len(outages),
            "hours": round(sum(o.hours for o in outages), 3),
            "windows": [o.as_dict() for o in outages],
        },
    }


def load_quality(database_url: str, period: Period, *, offline_after: int = 3) -> dict[str, Any]:
    """The data-quality document for ``period`` from the database at ``database_url``."""
    from hostwatch.model.db import engine_for

    with engine_for(database_url).connect() as conn:
        frame = build_frame(conn, period, offline_after=offline_after)
        return data_quality(conn, frame, period)


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
    return pl.DataFrame(
        [{name: row.get(name) for name in COLUMNS} for row in rows], schema=COLUMNS, orient="row"
    )
