"""The checker's own health: one observation per batch of checks, and the outage windows.

Whether the checker could see anything is a fact of its own time, kept like any other record:
each batch leaves an Observation of kind ``checker-health`` holding its control probes and what
its checks found, so an outage of hostwatch's own resolver or network can be seen, and
recomputed, long after. A batch is unhealthy when a control probe failed, or when every one of
its checks failed on hostwatch's own side (which catches a dead resolver even where no control
is configured). An outage window runs from the first unhealthy batch to the next healthy one.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hostwatch.model.observation import Observation
from hostwatch.takedown.checker.controls import ControlReport
from hostwatch.takedown.checker.fault import FAILURES, Side
from hostwatch.takedown.checker.result import CheckResult

KIND = "checker-health"


@dataclass(frozen=True)
class BatchHealth:
    """What one batch of checks showed about the checker that made them."""

    before: ControlReport
    after: ControlReport
    controlled: bool
    checks: int
    online: int
    counted: int
    """Failures that count towards "removed"."""
    inconclusive: dict[str, int]
    own: int
    """Failures on hostwatch's own side (not counting failed controls and not-checkable)."""

    @classmethod
    def of(
        cls,
        results: Iterable[CheckResult],
        before: ControlReport,
        after: ControlReport,
        controlled: bool,
    ) -> BatchHealth:
        checks = online = counted = own = 0
        reasons: Counter[str] = Counter()
        for result in results:
            checks += 1
            if result.online:
                online += 1
            elif result.inconclusive is None:
                counted += 1
            else:
                reasons[result.inconclusive] += 1
                failure = FAILURES.get(result.failure or "")
                if failure is None or failure.side is Side.OWN:
                    own += 1
        return cls(before, after, controlled, checks, online, counted, dict(reasons), own)

    @property
    def reason(self) -> str | None:
        """Why the checker was not healthy in this batch; None when it was."""
        if not self.before.ok:
            return self.before.reason
        if not self.after.ok:
            return self.after.reason
        if self.checks and self.own == self.checks:
            return "own-side-failures"
        return None

    @property
    def ok(self) -> bool:
        return self.reason is None

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "reason": self.reason,
            "controls": {"before": self.before.as_dict(), "after": self.after.as_dict()}
            if self.controlled
            else "none",
            "checks": self.checks,
            "online": self.online,
            "counted": self.counted,
            "own": self.own,
            "inconclusive": self.inconclusive,
        }


def health_observation(health: BatchHealth, at: datetime, source: str) -> Observation:
    """The record of one batch's health (``source`` names the checker: a worker or "checker")."""
    return Observation(kind=KIND, observed_at=at, source=source[:200], data=health.as_dict())


@dataclass(frozen=True)
class OutageWindow:
    """A stretch in which the checker could not see: ``end`` is the first healthy batch after
    it, or the period's end when it was still going on (``ongoing``)."""

    start: datetime
    end: datetime
    reason: str
    source: str
    batches: int
    ongoing: bool = False


def outage_windows(session: Session, start: datetime, end: datetime) -> list[OutageWindow]:
    """The checker's outage windows overlapping ``[start, end)``, per checker, oldest first.

    Computed from the ``checker-health`` observations alone, so they can be recomputed at any
    time; a window already open at ``start`` keeps its real start (its first unhealthy batch,
    however long before). ``reason`` is the first unhealthy batch's."""
    before = (
        select(Observation.observed_at, Observation.data)
        .where(Observation.kind == KIND, Observation.observed_at < start)
        .order_by(Observation.observed_at.desc(), Observation.id.desc())
    )
    sources = session.scalars(
        select(Observation.source)
        .where(Observation.kind == KIND, Observation.observed_at < end)
        .distinct()
    ).all()
    windows: list[OutageWindow] = []
    for source in sorted(sources):
        # back from ``start`` to the last healthy batch: the run of unhealthy ones is open at start
        rows: list[tuple[datetime, dict[str, Any] | None]] = []
        for at, data in session.execute(
            before.where(Observation.source == source).execution_options(yield_per=100)
        ):
            if _healthy(data):
                break
            rows.insert(0, (at, data))
        rows.extend(
            (row[0], row[1])
            for row in session.execute(
                select(Observation.observed_at, Observation.data)
                .where(
                    Observation.kind == KIND,
                    Observation.source == source,
                    Observation.observed_at >= start,
                    Observation.observed_at < end,
                )
                .order_by(Observation.observed_at, Observation.id)
            )
        )
        windows.extend(w for w in _windows(rows, source, end) if w.end > start)
    return sorted(windows, key=lambda w: (w.start, w.source))


def _healthy(data: dict[str, Any] | None) -> bool:
    return bool(data and data.get("ok"))


def _windows(
    rows: list[tuple[datetime, dict[str, Any] | None]], source: str, end: datetime
) -> list[OutageWindow]:
    found: list[OutageWindow] = []
    opened: tuple[datetime, str] | None = None
    batches = 0
    for at, data in rows:
        healthy = _healthy(data)
        if not healthy and opened is None:
            opened = (at, str((data or {}).get("reason") or "unknown"))
            batches = 0
        if not healthy:
            batches += 1
        elif opened is not None:
            found.append(OutageWindow(opened[0], at, opened[1], source, batches))
            opened = None
    if opened is not None:
        found.append(OutageWindow(opened[0], end, opened[1], source, batches, ongoing=True))
    return found
