"""Turning liveness checks into case states: reachable, offline-pending, removed, reappeared,
unconfirmed, not-checkable.

One failed check says little (a reboot, a network blip), so "removed" needs ``offline_after``
failed checks in a row, each at least ``offline_spacing_minutes`` after the one counted before
it. Only failures that count make that run: an inconclusive check (``checker.fault``: hostwatch's
own resolver, network or process failed, or the batch's control probes did) is recorded but
neither breaks nor extends it, and moves no case. The removal time is the first check of the
confirming run: the earliest moment the URL was seen gone, which with the last check that saw
it online brackets the real takedown (interval-censored, as DESIGN.md defines takedown time).
A URL that no conclusive check ever saw online cannot have been taken down as far as we know:
its failures make it "unconfirmed", never "removed". A URL the address policy forbids checking
is "not-checkable". A removed URL stays watched for reappearance until the policy's watch
period ends, and then its case closes; an unconfirmed or not-checkable one is checked at the
normal interval for the watch period after it entered that state, then left alone.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from hostwatch.model.case import Case
from hostwatch.model.check import Check
from hostwatch.model.url import Url
from hostwatch.settings import Settings
from hostwatch.takedown.cases import hold, hoster_change
from hostwatch.takedown.checker.fault import NOT_CHECKABLE
from hostwatch.takedown.checker.result import CheckResult
from hostwatch.takedown.policy import Rules
from hostwatch.takedown.states import transition

CHECK_STATES = (
    "new",
    "notified",
    "reachable",
    "offline-pending",
    "escalated",
    "reappeared",
    "removed",
    "unconfirmed",
    "not-checkable",
)


def check_row(case: Case, result: CheckResult, now: datetime, worker: str | None) -> Check:
    """The Check record for one result (metadata only; there is no field for content)."""
    return Check(
        url_id=case.url_id,
        case_id=case.id,
        checked_at=now,
        outcome=result.outcome.value,
        online=result.online,
        method=result.method,
        http_status=result.status,
        resolved_ip=result.ip,
        redirect_chain=[{"url": h.url, "status": h.status, "ip": h.ip} for h in result.redirects]
        or None,
        headers=dict(result.headers) or None,
        timing={
            k: v
            for k, v in {
                "dns": result.timing.dns,
                "connect": result.timing.connect,
                "tls": result.timing.tls,
                "first_byte": result.timing.first_byte,
                "total": result.timing.total,
            }.items()
            if v is not None
        },
        duration_ms=result.timing.total * 1000.0,
        error=result.error,
        worker=worker,
        inconclusive_reason=result.inconclusive,
    )


def confirming_run(session: Session, case: Case, spacing: timedelta) -> list[datetime]:
    """Times of the failed checks since the last online one that count towards "offline";
    inconclusive checks are skipped, neither counting nor breaking the run."""
    if case.last_online_at is None:
        rows = session.execute(_CASE_CHECKS, {"case": case.id})
    else:
        rows = session.execute(_CASE_CHECKS_SINCE, {"case": case.id, "since": case.last_online_at})
    counted: list[datetime] = []
    for checked_at, online, inconclusive in rows:
        if online:
            counted = []
        elif inconclusive is not None:
            continue
        elif not counted or checked_at - counted[-1] >= spacing:
            counted.append(checked_at)
    return counted


_CASE_CHECKS = (
    select(Check.checked_at, Check.online, Check.inconclusive_reason)
    .where(Check.case_id == bindparam("case"))
    .order_by(Check.checked_at, Check.id)
)
_CASE_CHECKS_SINCE = _CASE_CHECKS.where(Check.checked_at > bindparam("since"))
_SEEN_ONLINE = (
    select(Check.id)
    .where(
        Check.url_id == bindparam("url"),
        Check.online.is_(True),
        Check.inconclusive_reason.is_(None),
    )
    .limit(1)
)
# Built once (see ``_DUE_FOR_CHECK``): every failed check runs one.


def seen_online(session: Session, case: Case) -> bool:
    """Whether a conclusive check ever saw this case's URL online (in this case or another:
    a URL that moved hoster was seen by its old case)."""
    if case.last_online_at is not None:
        return True
    return session.execute(_SEEN_ONLINE, {"url": case.url_id}).first() is not None


def apply_check(
    session: Session,
    case: Case,
    result: CheckResult,
    *,
    settings: Settings,
    rules: Rules,
    now: datetime,
    worker: str | None = None,
) -> Check:
    """Record one check of ``case`` and move the case as the evidence says."""
    check = check_row(case, result, now, worker)
    session.add(check)  # written with the next query or the commit: a batch is one INSERT
    interval = rules.check_interval(
        timedelta(hours=settings.check_interval_hours), case.opened_at, now
    )
    spacing = timedelta(minutes=settings.offline_spacing_minutes)
    if result.inconclusive is not None:
        _inconclusive(session, case, result, rules, now, interval, spacing)
        return check
    if result.online:
        _online(session, case, result, now, interval)
        moved = hoster_change(session, case, result.ip) if result.ip else None
        if moved:
            hold(session, case, now=now, reason=moved)
    else:
        _failed(session, case, result, settings, rules, now, interval, spacing)
    return check


def _why(result: CheckResult) -> str:
    status = f" HTTP {result.status}" if result.status else ""
    detail = f": {result.error[:200]}" if result.error else ""
    return f"check {result.outcome.value}{status}{detail}"


def _inconclusive(
    session: Session,
    case: Case,
    result: CheckResult,
    rules: Rules,
    now: datetime,
    interval: timedelta,
    spacing: timedelta,
) -> None:
    """An inconclusive check keeps the case where it is and its checks on their cadence; only a
    policy block says something: the URL may not be checked, so it is "not-checkable"."""
    if result.failure in NOT_CHECKABLE and case.state != "removed":
        transition(
            session,
            case,
            "not-checkable",
            at=now,
            reason=f"{_why(result)} ({result.inconclusive})",
        )
    if case.state == "removed":
        case.next_check_at = now + timedelta(hours=rules.watch_hours)
    elif case.state == "offline-pending":
        case.next_check_at = now + spacing
    else:
        case.next_check_at = _unless_watched_out(case, rules, now, now + interval)


def _unless_watched_out(case: Case, rules: Rules, now: datetime, due: datetime) -> datetime | None:
    """``due``, unless an unconfirmed or not-checkable case has been so for the watch period."""
    if case.state in ("unconfirmed", "not-checkable") and now - case.state_since >= timedelta(
        days=rules.watch_days
    ):
        return None
    return due


def _online(
    session: Session, case: Case, result: CheckResult, now: datetime, interval: timedelta
) -> None:
    case.last_online_at = now
    case.failed_checks = 0
    case.first_offline_at = None
    case.next_check_at = now + interval
    if case.state in ("removed", "closed"):
        transition(
            session,
            case,
            "reappeared",
            at=now,
            reason=f"{_why(result)} after removal at {case.removed_at}",
            data={"removed_at": case.removed_at.isoformat() if case.removed_at else None},
        )
        case.removed_at = None
        case.closed_at = None
        case.next_message_at = now
    elif case.state in ("new", "notified", "offline-pending", "unconfirmed", "not-checkable"):
        target = "escalated" if case.escalation_level > 0 else "reachable"
        transition(session, case, target, at=now, reason=_why(result))


def _failed(
    session: Session,
    case: Case,
    result: CheckResult,
    settings: Settings,
    rules: Rules,
    now: datetime,
    interval: timedelta,
    spacing: timedelta,
) -> None:
    if case.state == "removed":
        case.next_check_at = now + timedelta(hours=rules.watch_hours)
        if case.removed_at and now - case.removed_at >= timedelta(days=rules.watch_days):
            transition(
                session,
                case,
                "closed",
                at=now,
                reason=f"removed since {case.removed_at}; not seen for {rules.watch_days} days",
            )
            case.closed_at = now
            case.next_check_at = None
        return
    run = confirming_run(session, case, spacing)
    case.failed_checks = len(run)
    if not seen_online(session, case):
        transition(
            session,
            case,
            "unconfirmed",
            at=now,
            reason=f"{_why(result)}; never seen online",
        )
        # the re-notice time is kept: a URL first seen online later gets its re-notice then
        case.next_check_at = _unless_watched_out(case, rules, now, now + interval)
        return
    case.first_offline_at = run[0] if run else now
    if len(run) >= settings.offline_after:
        transition(
            session,
            case,
            "removed",
            at=now,
            reason=f"{len(run)} failed checks since {run[0].isoformat()} ({_why(result)})",
            data={"failed_checks": [t.isoformat() for t in run]},
        )
        case.removed_at = run[0]
        case.next_message_at = None
        case.next_check_at = now + timedelta(hours=rules.watch_hours)
    else:
        transition(session, case, "offline-pending", at=now, reason=_why(result))
        case.next_check_at = now + spacing


def due_for_check(
    session: Session, now: datetime, limit: int | None = None
) -> list[tuple[int, str]]:
    """(case id, URL) of every case whose check is due at ``now``, oldest due first."""
    query = _DUE_FOR_CHECK.limit(limit) if limit else _DUE_FOR_CHECK
    return [(row[0], row[1]) for row in session.execute(query, {"now": now})]


_DUE_FOR_CHECK = (
    select(Case.id, Url.url)
    .join(Url, Url.id == Case.url_id)
    .where(
        Case.state.in_(CHECK_STATES),
        Case.held.is_(False),
        Case.next_check_at.is_not(None),
        Case.next_check_at <= bindparam("now"),
    )
    .order_by(Case.next_check_at, Case.id)
)
"""Built once: every pass runs it (see ``notify._WAITING``)."""
