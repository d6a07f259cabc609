"""Checks asked for at set times (e.g. around a removal order's deadline), honoured here.

The regular pace of checks (every few hours while online, spaced failures while going offline)
is the verdict's business; an appointment only ever brings the next check forward, never
pushes it back, so it cannot weaken the evidence the regular pace gathers.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hostwatch.model.appointment import CheckAppointment
from hostwatch.model.case import Case


def make_appointments(
    session: Session, case_ids: Iterable[int], times: Iterable[datetime], reason: str
) -> None:
    """Ask for a check of each case at each time; the earliest pulls its next check forward."""
    ordered = sorted(times)
    if not ordered:
        return
    for case in session.scalars(select(Case).where(Case.id.in_(list(case_ids)))):
        for due in ordered:
            session.add(CheckAppointment(case_id=case.id, due_at=due, reason=reason))
        if case.next_check_at is None or case.next_check_at > ordered[0]:
            case.next_check_at = ordered[0]


def next_appointments(
    session: Session, case_ids: Iterable[int], now: datetime
) -> dict[int, datetime]:
    """Each case's next appointment after ``now``, for a whole batch of checks in one query
    (asked per case, the query also flushed the batch's pending check rows every time)."""
    ids = list(case_ids)
    if not ids:
        return {}
    rows = session.execute(
        select(CheckAppointment.case_id, func.min(CheckAppointment.due_at))
        .where(CheckAppointment.case_id.in_(ids), CheckAppointment.due_at > now)
        .group_by(CheckAppointment.case_id)
    )
    return {case_id: due for case_id, due in rows}


def bring_forward(case: Case, due: datetime | None) -> None:
    """After a check: the case's next check is no later than its next appointment ``due``."""
    if due is not None and (case.next_check_at is None or case.next_check_at > due):
        case.next_check_at = due
