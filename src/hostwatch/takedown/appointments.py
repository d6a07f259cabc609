"""Checks asked for at set times (e.g. around a removal order's deadline), honoured here.

The regular pace of checks (every few hours while online, spaced failures while going offline)
is the verdict's business; an appointment only ever brings the next check forward, never
pushes it back, so it cannot weaken the evidence the regular pace gathers.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import bindparam, func, select
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


def bring_forward(session: Session, case: Case, now: datetime) -> None:
    """After a check at ``now``: the case's next check is no later than its next appointment."""
    due = session.scalar(_NEXT, {"case": case.id, "now": now})
    if due is not None and (case.next_check_at is None or case.next_check_at > due):
        case.next_check_at = due


_NEXT = select(func.min(CheckAppointment.due_at)).where(
    CheckAppointment.case_id == bindparam("case"), CheckAppointment.due_at > bindparam("now")
)
