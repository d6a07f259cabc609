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

from sqlalchemy import select
from sqlalchemy.orm import Session

from hostwatch.attribution.batch import attribute_pending
from hostwatch.clock import Clock
from hostwatch.model.attribution import Attribution
from hostwatch.model.case import Case
from hostwatch.model.db import session_factory, session_scope
from hostwatch.settings import Settings
from hostwatch.takedown.cases import open_cases
from hostwatch.takedown.checker import CheckResult, Politeness, run_checks
from hostwatch.takedown.notify import Delivered, deliver_pending, plan_messages
from hostwatch.takedown.policy import Policy, load_policy
from hostwatch.takedown.send import Transport
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


def attribute_new(settings: Settings, clock: Clock) -> int:
    """Attribute notices that have none yet (the attribution layer's batch)."""
    return attribute_pending(settings, progress=False, clock=clock).notices


def send_due(
    settings: Settings, policy: Policy, transport: Transport, now: datetime
) -> tuple[int, Delivered]:
    """Plan the due messages (one transaction), then deliver every pending intent."""
    with session_scope(settings.database_url) as session:
        planned = plan_messages(session, settings, policy, now)
    delivered = deliver_pending(
        session_factory(settings.database_url), settings, policy, transport, now
    )
    return len(planned), delivered


def check_cases(
    settings: Settings,
    policy: Policy,
    due: list[tuple[int, str]],
    now: datetime,
    *,
    politeness: Politeness | None = None,
    worker: str | None = None,
) -> int:
    """Check each (case id, URL) and apply the verdict; each result in its own transaction.

    The check itself runs without any lock; the case row is locked only to record the result, and
    a case that left the checked states meanwhile (held, closed) keeps its record but not a verdict.
    A URL that answers from an address its attribution does not list may have moved to another
    hoster: it is attributed anew at once, and a new party gets a case while the old one is held.
    """
    by_url: dict[str, list[int]] = defaultdict(list)
    for case_id, url in due:
        by_url[url].append(case_id)
    done = 0
    elsewhere: set[int] = set()

    def record(result: CheckResult) -> None:
        nonlocal done
        with session_scope(settings.database_url) as session:
            for case_id in by_url.get(result.url, ()):
                case = session.scalar(
                    select(Case)
                    .where(Case.id == case_id)
                    .with_for_update()
                    .execution_options(populate_existing=True)
                )
                if case is None or case.held or case.state not in CHECK_STATES:
                    continue
                if case.next_check_at is None or case.next_check_at > now:
                    continue
                if result.ip and _answers_elsewhere(session, case, result.ip):
                    elsewhere.add(case.url_id)
                rules = policy.rules_for(case.classification, case.country)
                apply_check(
                    session, case, result, settings=settings, rules=rules, now=now, worker=worker
                )
                done += 1

    if by_url:
        run_checks(
            list(by_url),
            record,
            settings,
            clock=Clock.at(now),
            politeness=politeness,
        )
    if elsewhere:
        attribute_pending(
            settings, at=now, recompute=True, url_ids=elsewhere, progress=False, clock=Clock.at(now)
        )
        with session_scope(settings.database_url) as session:
            open_cases(session, now=now)
    return done


def _answers_elsewhere(session: Session, case: Case, address: str) -> bool:
    attribution = session.get(Attribution, case.attribution_id) if case.attribution_id else None
    return bool(attribution and attribution.ips and address not in attribution.ips)


def run_pass(
    settings: Settings,
    clock: Clock,
    *,
    policy: Policy | None = None,
    transport: Transport | None = None,
    politeness: Politeness | None = None,
) -> PassReport:
    """Do everything that is due at ``clock.now()``: one pass of ``hostwatch run --once``."""
    now = clock.now()
    policy = policy or load_policy(settings)
    transport = transport or Transport(settings)
    report = PassReport(at=now)
    report.attributed = attribute_new(settings, Clock.at(now))
    with session_scope(settings.database_url) as session:
        opened = open_cases(session, now=now)
    report.opened, report.moved = opened.opened, opened.moved
    planned, delivered = send_due(settings, policy, transport, now)
    with session_scope(settings.database_url) as session:
        due = due_for_check(session, now)
    report.checked = check_cases(settings, policy, due, now, politeness=politeness)
    again, delivered_again = send_due(settings, policy, transport, now)
    report.planned = planned + again
    report.delivered = Delivered(
        delivered.sent + delivered_again.sent,
        delivered.tempfail + delivered_again.tempfail,
        delivered.failed + delivered_again.failed,
    )
    with session_scope(settings.database_url) as session:
        for state in session.scalars(select(Case.state)):
            report.states[state] = report.states.get(state, 0) + 1
    return report
