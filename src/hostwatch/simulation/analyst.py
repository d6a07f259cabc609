"""A simulated hotline analyst who works the triage queue during office hours.

Part of the simulated year's notices arrive through the hotline's public reporting form, a
source configured as unassessed: their cases open and are checked at once, but their notices wait
for this analyst. The analyst looks at each waiting case on working days between 08:00 and 17:00
UTC, some time after it came in, and judges it as an analyst would in the hotline's secured
viewing environment: material no longer online is "not reachable"; otherwise it is illegal (with
the reported classification and its legal basis) or, now and then, not illegal.

Reproducible like the rest of the year: each case's review time and verdict come from a generator
seeded by the seed and the notice's reference, never from the order the queue is read in; the
verdicts are recorded in (time, case id) order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from hostwatch.model.case import Case
from hostwatch.model.db import session_scope
from hostwatch.model.notice import Notice
from hostwatch.model.url import Url
from hostwatch.settings import Settings
from hostwatch.simulation.servers import HostingState
from hostwatch.simulation.world import stable_key
from hostwatch.takedown.triage import (
    ILLEGAL,
    NOT_ILLEGAL,
    NOT_REACHABLE,
    Decision,
    pending,
)
from hostwatch.takedown.triage import decide as record_verdict

ANALYST = "simulated analyst"
OPENS, CLOSES = 8, 17
"""Office hours (UTC) of the simulated analyst, Monday to Friday."""
NOT_ILLEGAL_SHARE = 0.08
LEGAL_BASIS = {
    "csam": "Art. 252 Wetboek van Strafrecht (NL); Directive 2011/93/EU",
    "phishing": "Art. 326 and 232 Wetboek van Strafrecht (NL): fraud, misuse of credentials",
    "malware-distribution": "Art. 139d Wetboek van Strafrecht (NL): tools for computer intrusion",
}
DEFAULT_BASIS = "Wetboek van Strafrecht (NL), as the hotline's assessment guide sets out"


def office_time(start: datetime, work_hours: float) -> datetime:
    """``work_hours`` of office time after ``start`` (weekends and nights do not count)."""
    at = start
    left = timedelta(hours=work_hours)
    while True:
        opening = at.replace(hour=OPENS, minute=0, second=0, microsecond=0)
        closing = at.replace(hour=CLOSES, minute=0, second=0, microsecond=0)
        if at.weekday() >= 5 or at >= closing:
            at = (at + timedelta(days=1)).replace(hour=OPENS, minute=0, second=0, microsecond=0)
            continue
        at = max(at, opening)
        if at + left <= closing:
            return at + left
        left -= closing - at
        at = closing


@dataclass
class SimulatedAnalyst:
    settings: Settings
    state: HostingState
    seed: int
    plan: dict[int, datetime] = field(default_factory=dict)
    """Case id -> when the analyst will look at it."""
    verdicts: dict[str, int] = field(default_factory=dict)

    def read_queue(self, now: datetime) -> None:
        """Plan a review for every waiting case not planned yet."""
        with session_scope(self.settings.database_url) as session:
            for item in pending(session, now):
                if item.case_id in self.plan:
                    continue
                reference = self._reference(session, item.case_id)
                rng = np.random.default_rng([self.seed, stable_key(reference), 3])
                review = float(rng.uniform(0.25, 4.0))
                self.plan[item.case_id] = office_time(item.opened_at, review)

    @staticmethod
    def _reference(session: Session, case_id: int) -> str:
        """The case's first notice's reference: what the reviews are seeded by."""
        row = session.execute(
            select(Notice.reference, Url.url)
            .join(Case, Case.url_id == Notice.url_id)
            .join(Url, Url.id == Notice.url_id)
            .where(Case.id == case_id)
            .order_by(Notice.received_at, Notice.id)
            .limit(1)
        ).one()
        return str(row.reference or row.url)

    def decide_due(self, now: datetime) -> int:
        """Record the verdicts whose review time has come; how many."""
        due = sorted((at, case_id) for case_id, at in self.plan.items() if at <= now)
        if not due:
            return 0
        with session_scope(self.settings.database_url) as session:
            for at, case_id in due:
                del self.plan[case_id]
                case = session.get(Case, case_id)
                if case is None or case.triage != "pending":
                    continue
                url = session.get(Url, case.url_id)
                reference = self._reference(session, case_id)
                rng = np.random.default_rng([self.seed, stable_key(reference), 4])
                if url is None or not self.state.is_online(url.url):
                    decision = Decision(NOT_REACHABLE)
                elif rng.random() < NOT_ILLEGAL_SHARE:
                    decision = Decision(NOT_ILLEGAL)
                else:
                    classification = case.classification or "csam"
                    basis = LEGAL_BASIS.get(classification, DEFAULT_BASIS)
                    decision = Decision(ILLEGAL, classification, basis)
                # at the review's own time: the pass that records it comes at most one step later
                record_verdict(session, [case_id], decision, analyst=ANALYST, now=at)
                self.verdicts[decision.verdict] = self.verdicts.get(decision.verdict, 0) + 1
        return len(due)

    def next_review(self) -> datetime | None:
        return min(self.plan.values(), default=None)
