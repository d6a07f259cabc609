"""One pass of the notice-and-takedown workflow at one instant.

attribute new notices -> open cases -> send due messages (notices, re-notices, escalations) ->
run due checks -> apply verdicts -> send what the checks made due (a reappeared URL is
re-notified at once). Every step takes the pass's single ``now``, so a pass at a given
``--now`` does exactly what is due at that instant, and replaying passes replays a year.

The same steps are what the distributed worker runs as separate tasks; each step locks what it
changes, so in-process passes and workers can share one PostgreSQL database.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from hostwatch.attribution.batch import attribute_pending
from hostwatch.clock import Clock
from hostwatch.model.attribution import Attribution
from hostwatch.model.case import Case
from hostwatch.model.db import session_factory, session_scope
from hostwatch.settings import Settings
from hostwatch.takedown.appointments import bring_forward, next_appointments
from hostwatch.takedown.cases import open_cases
from hostwatch.takedown.checker import (
    BatchHealth,
    CheckResult,
    CheckSession,
    Politeness,
    health_observation,
    run_checks,
)
from hostwatch.takedown.notify import (
    MESSAGE_STATES,
    Delivered,
    deliver_pending,
    plan_messages,
    waiting,
)
from hostwatch.takedown.policy import Policy, load_policy
from hostwatch.takedown.send import Transport
from hostwatch.takedown.triage import NOTICE_MAY_GO, notices_may_go
from hostwatch.takedown.verdicts import CHECK_STATES, apply_check, due_for_check

log = logging.getLogger(__name__)


@dataclass
class PassReport:
    """What one pass did; the CLI prints it."""

    at: datetime
    attributed: int = 0
    opened: int = 0
    moved: int = 0
    planned: int = 0
    delivered: Delivered = field(default_factory=Delivered)
    checked: int = 0
    states: dict[str, int] = field(default_factory=dict)
    next_due: datetime | None = None
    """When the next message or check falls due, as of the end of this pass."""


def attribute_new(settings: Settings, clock: Clock) -> int:
    """Attribute notices that have none yet (the attribution layer's batch)."""
    return attribute_pending(settings, progress=False, clock=clock).notices


def send_due(
    settings: Settings,
    policy: Policy,
    transport: Transport,
    now: datetime,
    *,
    deliver: bool = True,
) -> tuple[int, Delivered]:
    """Plan the due messages (one transaction), then deliver every pending intent.

    ``deliver=False`` delivers only when this call planned something: a pass's second round
    (after the checks) has nothing else to send, since its first round at the same instant
    delivered every intent and a retry waits for its backoff. Most passes have nothing due and
    nothing pending; one read says so, and planning and delivery are skipped.
    """
    with session_scope(settings.database_url) as session:
        due, pending = waiting(session, now)
        planned = plan_messages(session, settings, policy, now) if due else []
    if not (planned or (deliver and pending)):
        return len(planned), Delivered()
    # with nothing pending before planning, what was just planned is all there is to deliver,
    # and the search for undelivered intents among every message ever sent can be skipped
    delivered = deliver_pending(
        session_factory(settings.database_url),
        settings,
        policy,
        transport,
        now,
        only=None if pending else planned,
    )
    return len(planned), delivered


RECORD_BATCH = 200
"""Check results recorded per transaction: one commit per result cost more than the check."""


@dataclass
class Checked:
    """What ``check_cases`` did: verdicts applied, and whether one made a message due at once
    (a reappeared URL, a case opened for a new hoster), which the pass then sends."""

    done: int = 0
    messages_due: bool = False


def check_cases(
    settings: Settings,
    policy: Policy,
    due: list[tuple[int, str]],
    now: datetime,
    *,
    politeness: Politeness | None = None,
    worker: str | None = None,
    checks: CheckSession | None = None,
) -> Checked:
    """Check each (case id, URL) and apply the verdicts, many results per transaction.

    The check itself runs without any lock; the case rows are locked only to record the results
    (a batch's cases in id order, the order plan_messages locks in, so two workers never wait on
    each other crosswise), and a case that left the checked states meanwhile (held, closed)
    keeps its record but not a verdict. A URL that answers from an address its attribution does
    not list may have moved to another hoster: it is attributed anew at once, and a new party
    gets a case while the old one is held. ``checks`` is an open session to check through
    (a loop of passes keeps one); without it a checker is opened for this call. Each batch's
    health (control probes, own-side failures) is recorded as a ``checker-health``
    observation with the results it judged.
    """
    by_url: dict[str, list[int]] = defaultdict(list)
    for case_id, url in due:
        by_url[url].append(case_id)
    checked = Checked()
    elsewhere: set[int] = set()
    pending: list[CheckResult] = []
    health: list[BatchHealth] = []

    def record() -> None:
        results = {case_id: r for r in pending for case_id in by_url.get(r.url, ())}
        pending.clear()
        if not results and not health:
            return
        with session_scope(settings.database_url) as session:
            for batch in health:
                session.add(health_observation(batch, now, worker or "checker"))
            health.clear()
            cases = session.scalars(_CASES_TO_RECORD, {"ids": list(results)}).all()
            # the verdicts look up each case's attribution: one query for the batch, not one each
            wanted = list({case.attribution_id for case in cases} - {None})
            attributions = {a.id: a for a in session.scalars(_ATTRIBUTIONS, {"ids": wanted})}
            appointments = next_appointments(session, (case.id for case in cases), now)
            for case in cases:
                if case.held or case.state not in CHECK_STATES:
                    continue
                if case.next_check_at is None or case.next_check_at > now:
                    continue
                result = results[case.id]
                attribution = attributions.get(case.attribution_id or 0)
                if result.ip and _answers_elsewhere(attribution, result.ip):
                    elsewhere.add(case.url_id)
                rules = policy.rules_for(case.classification, case.country)
                apply_check(
                    session, case, result, settings=settings, rules=rules, now=now, worker=worker
                )
                bring_forward(case, appointments.get(case.id))
                checked.done += 1
                if _message_due(case, now):
                    checked.messages_due = True

    def collect(result: CheckResult) -> None:
        pending.append(result)
        if len(pending) >= RECORD_BATCH:
            record()

    if by_url:
        if checks is not None:
            checks.run(list(by_url), collect, now=now, on_health=health.append)
        else:
            run_checks(
                list(by_url),
                collect,
                settings,
                clock=Clock.at(now),
                politeness=politeness,
                on_health=health.append,
            )
        record()
    if elsewhere:
        attribute_pending(
            settings, at=now, recompute=True, url_ids=elsewhere, progress=False, clock=Clock.at(now)
        )
        with session_scope(settings.database_url) as session:
            open_cases(session, now=now)
        checked.messages_due = True
    return checked


def _message_due(case: Case, now: datetime) -> bool:
    return (
        not case.held
        and notices_may_go(case)
        and case.state in MESSAGE_STATES
        and case.next_message_at is not None
        and case.next_message_at <= now
    )


def _answers_elsewhere(attribution: Attribution | None, address: str) -> bool:
    return bool(attribution and attribution.ips and address not in attribution.ips)


def run_pass(
    settings: Settings,
    clock: Clock,
    *,
    policy: Policy | None = None,
    transport: Transport | None = None,
    politeness: Politeness | None = None,
    checks: CheckSession | None = None,
    fresh: bool = True,
) -> PassReport:
    """Do everything that is due at ``clock.now()``: one pass of ``hostwatch run --once``.

    ``checks`` is an open CheckSession that a loop of passes shares (its politeness applies
    then); without it, the pass opens a checker of its own with ``politeness``. ``fresh=False``
    is for a caller that knows that no notice and no reference file came in since its previous
    pass (a replay between arrivals): attribution and case opening would find nothing to do
    and are skipped; everything due is done as always.
    """
    now = clock.now()
    policy = policy or load_policy(settings)
    transport = transport or Transport(settings)
    report = PassReport(at=now)
    if fresh:
        report.attributed = attribute_new(settings, Clock.at(now))
        with session_scope(settings.database_url) as session:
            opened = open_cases(session, now=now)
        report.opened, report.moved = opened.opened, opened.moved
    planned, delivered = send_due(settings, policy, transport, now)
    with session_scope(settings.database_url) as session:
        due = due_for_check(session, now)
    checked = check_cases(settings, policy, due, now, politeness=politeness, checks=checks)
    report.checked = checked.done
    again, delivered_again = 0, Delivered()
    if checked.messages_due:
        again, delivered_again = send_due(settings, policy, transport, now, deliver=False)
    report.planned = planned + again
    report.delivered = Delivered(
        delivered.sent + delivered_again.sent,
        delivered.tempfail + delivered_again.tempfail,
        delivered.failed + delivered_again.failed,
    )
    with session_scope(settings.database_url) as session:
        counts = session.execute(_STATE_COUNTS)
        report.states = {state: count for state, count in counts}
        report.next_due = earliest_due(session)
    return report


def earliest_due(session: Session) -> datetime | None:
    """The earliest time any open case has a message or a check due.

    Only what a pass acts on counts: a message of a case in a message state, a check of a case
    in a checked state (an offline-pending case keeps its re-notice time but gets no re-notice
    until it is seen again), neither for a held case.
    """
    row = session.execute(_EARLIEST_DUE).one()
    times = [t for t in row if t is not None]
    return min(times) if times else None


_EARLIEST_DUE = select(
    select(func.min(Case.next_message_at))
    .where(Case.held.is_(False), NOTICE_MAY_GO, Case.state.in_(MESSAGE_STATES))
    .scalar_subquery(),
    select(func.min(Case.next_check_at))
    .where(Case.held.is_(False), Case.state.in_(CHECK_STATES))
    .scalar_subquery(),
)
_STATE_COUNTS = select(Case.state, func.count()).group_by(Case.state)
_CASES_TO_RECORD = (
    select(Case)
    .where(Case.id.in_(bindparam("ids", expanding=True)))
    .order_by(Case.id)
    .with_for_update()
    .execution_options(populate_existing=True)
)
_ATTRIBUTIONS = select(Attribution).where(Attribution.id.in_(bindparam("ids", expanding=True)))
# Built once: a pass runs each of them, and building one cost more than SQLite running it.
