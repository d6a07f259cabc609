"""Whether each case of an order was removed by the deadline, judged from the checks alone.

Only conclusive checks count (a check with ``inconclusive_reason`` says nothing about the target:
hostwatch's own resolver or network failed, or the policy forbids probing it), and "removed"
needs ``offline_after`` conclusive failures in a row, as everywhere else (DESIGN.md, takedown
time). The removal lies between the last check that saw the URL online and the first check of the
confirming run; a case's outcome follows from where that interval lies against the deadline:

| what the checks show                                             | outcome        |
|------------------------------------------------------------------|----------------|
| the confirming run starts at or before the deadline              | met            |
| a check saw the URL online at or after the deadline              | missed         |
| last online before the deadline, first offline after it          | undetermined   |
| deadline passed, no confirmed removal and no online check after  | undetermined   |
| the deadline has not passed and the removal is not yet confirmed | open           |

"Undetermined" is never counted against a provider: a sanction rests only on "missed".
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from hostwatch.model.check import Check
from hostwatch.takedown.checker.result import Outcome

OUTCOMES = ("open", "met", "missed", "undetermined")


@dataclass(frozen=True)
class Seen:
    """One conclusive check: when, and whether the URL answered."""

    at: datetime
    online: bool


@dataclass(frozen=True)
class Judgement:
    """A case's outcome against one deadline, with the checks that decide it."""

    outcome: str
    removed_at: datetime | None  # first check of the confirming run
    last_online_at: datetime | None  # the last online check before the removal (or at all)
    online_after_deadline_at: datetime | None  # the first online check at/after the deadline
    reason: str


def judge(
    seen: Sequence[Seen], deadline_at: datetime, now: datetime, offline_after: int
) -> Judgement:
    """The outcome for one case from its conclusive checks in time order."""
    last_online: datetime | None = None
    run_start: datetime | None = None
    run = 0
    for check in seen:
        if check.online:
            if check.at >= deadline_at:
                return Judgement(
                    "missed",
                    None,
                    check.at,
                    check.at,
                    f"verified online at {check.at.isoformat()}, at or after the deadline",
                )
            last_online, run_start, run = check.at, None, 0
            continue
        if run == 0:
            run_start = check.at
        run += 1
        if run >= offline_after:
            assert run_start is not None
            if run_start <= deadline_at:
                return Judgement(
                    "met", run_start, last_online, None, "removal confirmed before the deadline"
                )
            if last_online is not None or seen[0].at < deadline_at:
                return Judgement(
                    "undetermined",
                    run_start,
                    last_online,
                    None,
                    "the removal lies between a check before and a check after the deadline",
                )
            return Judgement(
                "undetermined", run_start, None, None, "no conclusive check before the deadline"
            )
    if now < deadline_at:
        return Judgement("open", None, last_online, None, "the deadline has not passed")
    return Judgement(
        "undetermined",
        None,
        last_online,
        None,
        "no conclusive check since the deadline confirms either removal or presence",
    )


def from_issue(seen: Sequence[Seen], issued_at: datetime) -> list[Seen]:
    """The checks that bear on an order: from the last online check at or before its issue.

    An earlier removal and reappearance is history the order does not judge.
    """
    start = 0
    for index, check in enumerate(seen):
        if check.at > issued_at:
            break
        if check.online:
            start = index
    return list(seen[start:])


def conclusive_checks(session: Session, case_ids: Iterable[int]) -> dict[int, list[Seen]]:
    """Conclusive checks per case, in time order (ties broken by id: recomputation is stable)."""
    ids = sorted(set(case_ids))
    out: dict[int, list[Seen]] = {i: [] for i in ids}
    if not ids:
        return out
    rows = session.execute(
        select(Check.case_id, Check.checked_at, Check.online)
        .where(
            Check.case_id.in_(ids),
            Check.inconclusive_reason.is_(None),
            Check.outcome != Outcome.BLOCKED.value,
        )
        .order_by(Check.case_id, Check.checked_at, Check.id)
    )
    for case_id, at, online in rows:
        out[case_id].append(Seen(at, bool(online)))
    return out


def order_status(outcomes: Sequence[str], withdrawn: bool) -> str:
    """An order's status follows its cases: withdrawn, else the worst outcome that is certain."""
    if withdrawn:
        return "withdrawn"
    for status in ("open", "missed", "undetermined"):
        if status in outcomes:
            return status
    return "met"
