"""Triage before notice: a case reported only by unassessed sources waits for an analyst.

Whether a case waits is decided when it opens (:meth:`Intake.on_open`): if any notice of its URL
came from an assessed source (:mod:`hostwatch.ingest.sources`), notice-and-takedown starts at once;
else the case is ``pending``. Its checks run either way; only its notices wait
(:data:`NOTICE_MAY_GO`, the one condition every due-message query applies). An analyst records a
verdict per case or for many at once (:func:`decide`), never seeing content through hostwatch:

- ``illegal``, with the classification and the legal basis: the notice goes out at once and says
  "assessed by the hotline on <date>";
- ``not-illegal`` or ``not-reachable``: the case closes without a notice.

Each verdict is a record (``triage_verdicts``) and an audit event with the analyst and time. A
case opened for the same URL at a new hoster takes the URL's ``illegal`` verdict (the material
was assessed, only its place changed); a pending case whose URL an assessed source reports later
leaves the queue.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import ColumnElement, exists, or_, select
from sqlalchemy.orm import Session

from hostwatch.ingest.sources import configured_trust, is_assessed
from hostwatch.model.audit import record
from hostwatch.model.case import Case
from hostwatch.model.check import Check
from hostwatch.model.notice import Notice
from hostwatch.model.party import Provider
from hostwatch.model.triage import TriageVerdict
from hostwatch.model.url import Url
from hostwatch.takedown.states import transition

PENDING = "pending"
ILLEGAL = "illegal"
NOT_ILLEGAL = "not-illegal"
NOT_REACHABLE = "not-reachable"
VERDICTS = (ILLEGAL, NOT_ILLEGAL, NOT_REACHABLE)

NOTICE_MAY_GO: ColumnElement[bool] = or_(Case.triage.is_(None), Case.triage == ILLEGAL)
"""Whether a case's notices may go: an assessed source reported it, or an analyst found it
illegal. Every query that selects cases with a message due applies it."""


def notices_may_go(case: Case) -> bool:
    """:data:`NOTICE_MAY_GO` for a case already loaded."""
    return case.triage is None or case.triage == ILLEGAL


class TriageError(ValueError):
    """A verdict that cannot be recorded; the message names the cases and the reason."""


def _reports(session: Session, url_id: int) -> list[tuple[str, str]]:
    """(source, format) of every notice of the URL, earliest first."""
    rows = session.execute(
        select(Notice.source, Notice.format)
        .where(Notice.url_id == url_id)
        .order_by(Notice.received_at, Notice.id)
    ).all()
    return [(source, fmt) for source, fmt in rows]


def _first_assessed(reports: Iterable[tuple[str, str]], trust: Mapping[str, bool]) -> str | None:
    return next((source for source, fmt in reports if is_assessed(trust, source, fmt)), None)


def _illegal_verdict(session: Session, url_id: int) -> TriageVerdict | None:
    """The latest ``illegal`` verdict on any case of the URL."""
    return session.scalar(
        select(TriageVerdict)
        .join(Case, Case.id == TriageVerdict.case_id)
        .where(Case.url_id == url_id, TriageVerdict.verdict == ILLEGAL)
        .order_by(TriageVerdict.decided_at.desc(), TriageVerdict.id.desc())
        .limit(1)
    )


CHUNK = 5000
"""URLs read per query when a pass of case opening looks at many at once."""


class Intake:
    """Triage for one pass of case opening: the trust levels, and the notices and ``illegal``
    verdicts of the URLs the pass looks at, each read in a few queries for the whole pass rather
    than one per case (a pass after a large intake opens hundreds of thousands of cases)."""

    def __init__(self, session: Session, url_ids: Iterable[int]) -> None:
        self.session = session
        self.trust = configured_trust(session)
        self.reports: dict[int, list[tuple[str, str]]] = {}
        self.verdicts: dict[int, TriageVerdict] = {}
        ids = sorted(set(url_ids))
        # nothing the pass writes is read here: no flush needed before these reads
        with session.no_autoflush:
            for start in range(0, len(ids), CHUNK):
                chunk = ids[start : start + CHUNK]
                for url_id, source, fmt in session.execute(
                    select(Notice.url_id, Notice.source, Notice.format)
                    .where(Notice.url_id.in_(chunk))
                    .order_by(Notice.url_id, Notice.received_at, Notice.id)
                ):
                    self.reports.setdefault(url_id, []).append((source, fmt))
                for url_id, verdict in session.execute(
                    select(Case.url_id, TriageVerdict)
                    .join(Case, Case.id == TriageVerdict.case_id)
                    .where(Case.url_id.in_(chunk), TriageVerdict.verdict == ILLEGAL)
                    .order_by(TriageVerdict.decided_at, TriageVerdict.id)
                ):
                    self.verdicts[url_id] = verdict  # the latest wins

    def on_open(self, case: Case, *, now: datetime) -> None:
        """Decide whether the new ``case``'s notices wait for an analyst."""
        reports = self.reports.get(case.url_id, [])
        if _first_assessed(reports, self.trust) is not None:
            case.triage = None
            return
        earlier = self.verdicts.get(case.url_id)
        if earlier is not None:
            case.triage = ILLEGAL
            case.classification = earlier.classification
            record(
                self.session,
                at=now,
                actor="workflow",
                action="triage.inherited",
                object_type="case",
                object_id=case.id,
                reason=f"the URL was assessed illegal on {earlier.decided_at:%Y-%m-%d} "
                f"(verdict {earlier.id} on case {earlier.case_id})",
                data={"verdict_id": earlier.id, "classification": earlier.classification},
            )
            return
        case.triage = PENDING
        sources = sorted({source for source, _ in reports})
        record(
            self.session,
            at=now,
            actor="workflow",
            action="triage.queued",
            object_type="case",
            object_id=case.id,
            reason="reported only by unassessed sources: " + ", ".join(sources),
            data={"sources": sources},
        )

    def reconsider(self, case: Case, *, now: datetime) -> None:
        """A new notice came for a pending case's URL: an assessed source ends the wait."""
        if case.triage != PENDING:
            return
        source = _first_assessed(self.reports.get(case.url_id, []), self.trust)
        if source is None:
            return
        case.triage = None
        record(
            self.session,
            at=now,
            actor="workflow",
            action="triage.not-needed",
            object_type="case",
            object_id=case.id,
            reason=f"reported by {source}, an assessed source",
            data={"source": source},
        )


@dataclass(frozen=True)
class Decision:
    """What an analyst decided; ``classification`` and ``legal_basis`` only for ``illegal``."""

    verdict: str
    classification: str | None = None
    legal_basis: str | None = None

    def checked(self) -> Decision:
        """The decision with its text tidied, or TriageError saying what is missing or wrong."""
        if self.verdict not in VERDICTS:
            raise TriageError(f"verdict {self.verdict!r}: use one of {', '.join(VERDICTS)}")
        classification = " ".join((self.classification or "").split()).lower() or None
        basis = " ".join((self.legal_basis or "").split()) or None
        if self.verdict != ILLEGAL:
            if classification or basis:
                raise TriageError(
                    "a classification and legal basis go only with the verdict illegal"
                )
            return Decision(self.verdict)
        if classification is None or basis is None:
            raise TriageError("the verdict illegal needs a classification and a legal basis")
        if len(classification) > 64 or len(basis) > 2000:
            raise TriageError("classification at most 64, legal basis at most 2000 characters")
        return Decision(ILLEGAL, classification, basis)


def decide(
    session: Session, case_ids: Iterable[int], decision: Decision, *, analyst: str, now: datetime
) -> list[Case]:
    """Record ``decision`` for every case in ``case_ids``, all or none.

    Every case must exist and be waiting; otherwise nothing is recorded and the error lists each
    case that is not (a bulk decision is the analyst's judgement on that whole selection).
    """
    decision = decision.checked()
    analyst = " ".join(analyst.split())[:100]
    if not analyst:
        raise TriageError("say who decides (the analyst)")
    ids = sorted(set(case_ids))
    if not ids:
        raise TriageError("no case given")
    cases = list(
        session.scalars(
            select(Case)
            .where(Case.id.in_(ids))
            .order_by(Case.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    )
    found = {case.id for case in cases}
    problems = [f"case {i} does not exist" for i in ids if i not in found]
    problems += [
        f"case {case.id} is not waiting for triage"
        + (f" (already decided: {case.triage})" if case.triage else " (an assessed source)")
        for case in cases
        if case.triage != PENDING
    ]
    if problems:
        raise TriageError("; ".join(problems))
    for case in cases:
        verdict = TriageVerdict(
            case_id=case.id,
            verdict=decision.verdict,
            classification=decision.classification,
            legal_basis=decision.legal_basis,
            analyst=analyst,
            decided_at=now,
        )
        session.add(verdict)
        session.flush()
        record(
            session,
            at=now,
            actor=analyst,
            action=f"triage.{decision.verdict}",
            object_type="case",
            object_id=case.id,
            reason=f"triage verdict {decision.verdict} by {analyst}",
            data={
                "verdict_id": verdict.id,
                "verdict": decision.verdict,
                "classification": decision.classification,
                "legal_basis": decision.legal_basis,
                "analyst": analyst,
                "reported_classification": case.classification,
            },
        )
        case.triage = decision.verdict
        if decision.verdict == ILLEGAL:
            case.classification = decision.classification
            if not case.held:
                case.next_message_at = now
            continue
        case.next_message_at = None
        if case.state != "closed":
            transition(
                session,
                case,
                "closed",
                at=now,
                reason=f"triage: {decision.verdict}; no notice",
                actor=analyst,
            )
            case.closed_at = now
            case.next_check_at = None
    return cases


@dataclass(frozen=True)
class Assessment:
    """What a notice may truthfully say about how the material was judged."""

    assessed_on: date | None
    """The day an analyst of the hotline found it illegal; None when none did."""
    reported_by: str | None
    """The source the notice rests on: the first assessed one, or after a verdict the first."""
    legal_basis: str | None


def assessment(session: Session, case: Case) -> Assessment:
    """How ``case``'s material was judged, for the text of its notice.

    A case that needed no triage names its first assessed source; one opened before triage
    existed from unassessed sources only names none, rather than call them assessed.
    """
    reports = _reports(session, case.url_id)
    if case.triage is None:
        return Assessment(None, _first_assessed(reports, configured_trust(session)), None)
    verdict = _illegal_verdict(session, case.url_id) if case.triage == ILLEGAL else None
    return Assessment(
        verdict.decided_at.date() if verdict else None,
        reports[0][0] if reports else None,
        verdict.legal_basis if verdict else None,
    )


# --- the queue ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueItem:
    """One case waiting for a verdict, as the analyst sees it: what was reported and what our
    checks saw, never content."""

    case_id: int
    url: str
    opened_at: datetime
    waiting_hours: float
    reported_classification: str | None
    sources: tuple[str, ...]
    state: str
    last_checked_at: datetime | None
    last_check_online: bool | None
    provider: str | None
    country: str | None

    def as_dict(self) -> dict[str, object]:
        return {
            "case_id": self.case_id,
            "url": self.url,
            "opened_at": self.opened_at.isoformat(),
            "waiting_hours": self.waiting_hours,
            "reported_classification": self.reported_classification,
            "sources": list(self.sources),
            "state": self.state,
            "last_checked_at": self.last_checked_at.isoformat() if self.last_checked_at else None,
            "last_check_online": self.last_check_online,
            "provider": self.provider,
            "country": self.country,
        }


def _hours(delta_seconds: float) -> float:
    return round(max(delta_seconds, 0.0) / 3600.0, 2)


def pending(session: Session, now: datetime, *, limit: int | None = None) -> list[QueueItem]:
    """The triage queue, oldest first."""
    query = (
        select(Case, Url.url, Provider.name)
        .join(Url, Url.id == Case.url_id)
        .outerjoin(Provider, Provider.id == Case.provider_id)
        .where(Case.triage == PENDING)
        .order_by(Case.opened_at, Case.id)
        .limit(limit)
    )
    rows = session.execute(query).all()
    ids = [case.id for case, _, _ in rows]
    url_ids = [case.url_id for case, _, _ in rows]
    sources: dict[int, set[str]] = {}
    for url_id, source in session.execute(
        select(Notice.url_id, Notice.source).where(Notice.url_id.in_(url_ids))
    ):
        sources.setdefault(url_id, set()).add(source)
    latest: dict[int, tuple[datetime, bool | None]] = {}
    for case_id, at, online in session.execute(
        select(Check.case_id, Check.checked_at, Check.online)
        .where(Check.case_id.in_(ids), Check.inconclusive_reason.is_(None))
        .order_by(Check.case_id, Check.checked_at, Check.id)
    ):
        latest[case_id] = (at, online)
    items = []
    for case, url, provider in rows:
        check = latest.get(case.id)
        items.append(
            QueueItem(
                case_id=case.id,
                url=url,
                opened_at=case.opened_at,
                waiting_hours=_hours((now - case.opened_at).total_seconds()),
                reported_classification=case.classification,
                sources=tuple(sorted(sources.get(case.url_id, ()))),
                state=case.state,
                last_checked_at=check[0] if check else None,
                last_check_online=check[1] if check else None,
                provider=provider,
                country=case.country,
            )
        )
    return items


def queue_figures(
    session: Session, at: datetime, since: datetime | None = None
) -> dict[str, object]:
    """The queue at ``at`` (length, age of the oldest, median age) and the verdicts given in
    ``[since, at)`` (counts, and how long those cases had waited: median and 90th percentile).

    The queue at a past instant is rebuilt from the verdicts' times, so the report of a closed
    period gives the same numbers whenever it is made.
    """
    decided_later = exists().where(TriageVerdict.case_id == Case.id, TriageVerdict.decided_at > at)
    opened = session.scalars(
        select(Case.opened_at).where(
            Case.opened_at <= at,
            or_(Case.triage == PENDING, decided_later),
        )
    ).all()
    ages = sorted(_hours((at - when).total_seconds()) for when in opened)
    oldest = min(opened, default=None)
    window = [TriageVerdict.decided_at <= at]
    if since is not None:
        window.append(TriageVerdict.decided_at >= since)
    rows = session.execute(
        select(TriageVerdict.verdict, TriageVerdict.decided_at, Case.opened_at)
        .join(Case, Case.id == TriageVerdict.case_id)
        .where(*window)
    ).all()
    by_verdict = Counter(verdict for verdict, _, _ in rows)
    waits = sorted(_hours((decided - opened_at).total_seconds()) for _, decided, opened_at in rows)
    return {
        "waiting": len(ages),
        "oldest_hours": ages[-1] if ages else None,
        "oldest_since": oldest.isoformat() if oldest else None,
        "median_age_hours": round(statistics.median(ages), 2) if ages else None,
        "decided": {verdict: by_verdict.get(verdict, 0) for verdict in VERDICTS},
        "wait_median_hours": round(statistics.median(waits), 2) if waits else None,
        "wait_p90_hours": _p90(waits),
    }


def _p90(values: list[float]) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return round(statistics.quantiles(values, n=10, method="inclusive")[-1], 2)
