"""Sanction proposals from missed orders, under a policy the regulator writes as data.

hostwatch proposes; the regulator decides. A proposal carries its computed amounts and every
piece of evidence behind them (each order, each case's outcome and the checks that decide it, the
delivery proof, acknowledgements and objections, the audit log position), so that the decision
can be checked by the provider and by a court. Decisions and the provider's responses are
records of their own.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hostwatch.enforcement.orders import OrderView, view_orders
from hostwatch.model.audit import record
from hostwatch.model.audit_heads import HeadKey, published_head
from hostwatch.model.check import Check
from hostwatch.model.order import ProviderTurnover, SanctionRecord
from hostwatch.model.party import Provider

DEFAULT_SANCTIONS = Path(__file__).with_name("sanctions.toml")
DECISIONS = ("none", "warning", "penalty", "fine")


class SanctionError(ValueError):
    """A proposal or decision that cannot be made as asked; the message is safe to show."""


@dataclass(frozen=True)
class SanctionPolicy:
    warning_first: bool
    penalty_per_url: float
    penalty_per_hour: float
    fine_after_missed_orders: int
    fine_per_missed_order: float
    ceiling_share: float
    ceiling_share_repeated: float
    repeat_within_months: int


def load_sanction_policy(path: Path | None = None) -> SanctionPolicy:
    """Read a sanction policy; every key is required, so nothing is silently zero."""
    source = path or DEFAULT_SANCTIONS
    try:
        data = tomllib.loads(source.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise SanctionError(f"{source}: {exc}") from exc
    try:
        policy = SanctionPolicy(
            warning_first=bool(data["warning_first"]),
            penalty_per_url=float(data["penalty_per_url"]),
            penalty_per_hour=float(data["penalty_per_hour"]),
            fine_after_missed_orders=int(data["fine_after_missed_orders"]),
            fine_per_missed_order=float(data["fine_per_missed_order"]),
            ceiling_share=float(data["ceiling_share"]),
            ceiling_share_repeated=float(data["ceiling_share_repeated"]),
            repeat_within_months=int(data["repeat_within_months"]),
        )
    except KeyError as exc:
        raise SanctionError(f"{source}: missing key {exc.args[0]!r}") from exc
    except (TypeError, ValueError) as exc:
        raise SanctionError(f"{source}: {exc}") from exc
    if not 0 < policy.ceiling_share <= policy.ceiling_share_repeated <= 1:
        raise SanctionError(f"{source}: need 0 < ceiling_share <= ceiling_share_repeated <= 1")
    return policy


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def _hours_past(view: OrderView, checks_online_after: dict[int, datetime]) -> float:
    return sum(
        max(0.0, (at - view.deadline_at).total_seconds() / 3600)
        for at in checks_online_after.values()
    )


def _last_online_after_deadline(session: Session, view: OrderView) -> dict[int, datetime]:
    """Per missed case, the last conclusive check that saw it online at or after the deadline."""
    missed = [c.case_id for c in view.cases if c.outcome == "missed"]
    if not missed:
        return {}
    rows = session.execute(
        select(Check.case_id, func.max(Check.checked_at))
        .where(
            Check.case_id.in_(missed),
            Check.online.is_(True),
            Check.inconclusive_reason.is_(None),
            Check.checked_at >= view.deadline_at,
        )
        .group_by(Check.case_id)
    ).all()
    return {case_id: at for case_id, at in rows}


def _turnover(session: Session, provider_id: int, year: int) -> float | None:
    return session.scalar(
        select(ProviderTurnover.amount_eur)
        .where(ProviderTurnover.provider_id == provider_id, ProviderTurnover.year <= year)
        .order_by(ProviderTurnover.year.desc(), ProviderTurnover.entered_at.desc())
        .limit(1)
    )


def _earlier_decisions(
    session: Session, provider_id: int, before: datetime, months: int
) -> list[SanctionRecord]:
    since = before - timedelta(days=round(months * 30.44))
    return list(
        session.scalars(
            select(SanctionRecord).where(
                SanctionRecord.provider_id == provider_id,
                SanctionRecord.kind == "decision",
                SanctionRecord.outcome.in_(("warning", "penalty", "fine")),
                SanctionRecord.at >= since,
                SanctionRecord.at < before,
            )
        )
    )


def _next_reference(session: Session, prefix: str, now: datetime) -> str:
    count = session.scalar(
        select(func.count())
        .select_from(SanctionRecord)
        .where(SanctionRecord.reference.like(f"{prefix}-{now:%Y}-%"))
    )
    return f"{prefix}-{now:%Y}-{(count or 0) + 1:05d}"


def propose(
    session: Session,
    *,
    provider_name: str,
    period: tuple[datetime, datetime],
    period_label: str,
    policy: SanctionPolicy,
    now: datetime,
    offline_after: int,
    actor: str,
    audit_key: HeadKey | None = None,
) -> SanctionRecord:
    """Compute a sanction proposal for a provider's orders issued in ``period``."""
    provider = session.scalar(select(Provider).where(Provider.name == provider_name))
    if provider is None:
        raise SanctionError(f"no provider named {provider_name!r}")
    views = view_orders(
        session, now=now, offline_after=offline_after, provider_id=provider.id, period=period
    )
    views.sort(key=lambda v: (v.issued_at, v.reference))
    if not views:
        raise SanctionError(f"{provider.name} received no order in {period_label}")
    evidence = []
    missed_orders = 0
    missed_urls = 0
    hours = 0.0
    for view in views:
        online_after = _last_online_after_deadline(session, view)
        order_hours = _hours_past(view, online_after)
        if view.status == "missed":
            missed_orders += 1
            missed_urls += len(online_after)
            hours += order_hours
        evidence.append(
            {
                **view.as_json(),
                "hours_online_past_deadline": round(order_hours, 2),
                "online_after_deadline": {str(k): _iso(v) for k, v in online_after.items()},
            }
        )
    earlier = _earlier_decisions(session, provider.id, now, policy.repeat_within_months)
    repeated = bool(earlier)
    turnover = _turnover(session, provider.id, period[1].year)
    share = policy.ceiling_share_repeated if repeated else policy.ceiling_share
    ceiling = turnover * share if turnover is not None else None
    penalty = missed_urls * policy.penalty_per_url + math.floor(hours) * policy.penalty_per_hour
    fine = 0.0
    if missed_orders == 0:
        outcome = "none"
        amount = 0.0
    elif policy.warning_first and not repeated and missed_orders == 1:
        outcome, amount = "warning", 0.0
    elif missed_orders >= policy.fine_after_missed_orders or repeated:
        fine = missed_orders * policy.fine_per_missed_order
        if ceiling is not None:
            fine = min(fine, ceiling)
        outcome, amount = "fine", fine + penalty
    else:
        outcome, amount = "penalty", penalty
    data: dict[str, Any] = {
        "provider": provider.name,
        "period": period_label,
        "orders": len(views),
        "orders_met": sum(v.status == "met" for v in views),
        "orders_missed": missed_orders,
        "orders_undetermined": sum(v.status == "undetermined" for v in views),
        "orders_open": sum(v.status == "open" for v in views),
        "urls_missed": missed_urls,
        "hours_online_past_deadline": round(hours, 2),
        "repeated": repeated,
        "earlier_decisions": [d.reference for d in earlier],
        "turnover_eur": turnover,
        "ceiling_share": share,
        "ceiling_eur": ceiling,
        "penalty_eur": penalty,
        "fine_eur": fine,
        "proposed": outcome,
        "amount_eur": amount,
        "policy": policy.__dict__,
        "evidence": evidence,
    }
    if turnover is None and outcome == "fine":
        data["note"] = "no turnover entered: the fine is not capped; enter it before deciding"
    proposal = SanctionRecord(
        reference=_next_reference(session, "SAN", now),
        kind="proposal",
        provider_id=provider.id,
        period=period_label,
        at=now,
        actor=actor,
        amount_eur=amount,
        outcome=outcome,
        published=False,
        data=data,
    )
    session.add(proposal)
    session.flush()
    record(
        session,
        at=now,
        actor=actor,
        action="sanction.proposed",
        object_type="sanction",
        object_id=proposal.reference,
        data={"provider": provider.name, "outcome": outcome, "amount_eur": amount},
    )
    # the audit head the proposal was built on, its own event included: signed when a key is
    # configured, so the evidence can be checked against the log later (`audit verify --head`)
    proposal.data = {**data, "audit_head": published_head(session, audit_key, now)}
    return proposal


def _find(session: Session, reference: str, kind: str) -> SanctionRecord:
    found = session.scalar(
        select(SanctionRecord).where(
            SanctionRecord.reference == reference, SanctionRecord.kind == kind
        )
    )
    if found is None:
        raise SanctionError(f"no sanction {kind} {reference!r}")
    return found


def decide(
    session: Session,
    proposal_reference: str,
    *,
    outcome: str,
    amount_eur: float | None,
    text: str | None,
    publish: bool,
    now: datetime,
    actor: str,
) -> SanctionRecord:
    """The regulator's decision on a proposal (it may depart from it, with reasons)."""
    if outcome not in DECISIONS:
        raise SanctionError(f"decision must be one of {', '.join(DECISIONS)}")
    proposal = _find(session, proposal_reference, "proposal")
    if session.scalar(
        select(SanctionRecord.id).where(
            SanctionRecord.refers_to_id == proposal.id, SanctionRecord.kind == "decision"
        )
    ):
        raise SanctionError(f"proposal {proposal_reference} is decided already")
    amount = proposal.amount_eur if amount_eur is None else amount_eur
    if amount is not None and amount < 0:
        raise SanctionError("an amount is not negative")
    ceiling = (proposal.data or {}).get("ceiling_eur")
    if outcome == "fine" and ceiling is not None and amount is not None:
        # the ceiling caps the fine; penalty payments for the missed URLs come on top
        limit = ceiling + float((proposal.data or {}).get("penalty_eur") or 0.0)
        if amount > limit:
            raise SanctionError(
                f"{amount:,.2f} EUR exceeds the fine ceiling of {ceiling:,.2f} EUR "
                "plus the penalty payments"
            )
    decision = SanctionRecord(
        reference=_next_reference(session, "DEC", now),
        kind="decision",
        refers_to_id=proposal.id,
        provider_id=proposal.provider_id,
        period=proposal.period,
        at=now,
        actor=actor,
        amount_eur=amount if outcome in ("penalty", "fine") else 0.0,
        outcome=outcome,
        published=publish,
        text=(text or "").strip() or None,
        data={
            "proposal": proposal.reference,
            "orders": (proposal.data or {}).get("orders"),
            "orders_missed": (proposal.data or {}).get("orders_missed"),
        },
    )
    session.add(decision)
    session.flush()
    record(
        session,
        at=now,
        actor=actor,
        action="sanction.decided",
        object_type="sanction",
        object_id=decision.reference,
        reason=decision.text,
        data={"proposal": proposal.reference, "outcome": outcome, "published": publish},
    )
    return decision


def respond(
    session: Session,
    decision_reference: str,
    *,
    text: str,
    provider_id: int | None,
    now: datetime,
    actor: str,
) -> SanctionRecord:
    """The provider's response to (or objection against) a decision about it."""
    decision = _find(session, decision_reference, "decision")
    if provider_id is not None and decision.provider_id != provider_id:
        raise SanctionError(f"no sanction decision {decision_reference!r}")
    if not text.strip():
        raise SanctionError("a response has text")
    response = SanctionRecord(
        reference=_next_reference(session, "RSP", now),
        kind="response",
        refers_to_id=decision.id,
        provider_id=decision.provider_id,
        period=decision.period,
        at=now,
        actor=actor,
        published=decision.published,
        text=text.strip()[:4000],
    )
    session.add(response)
    session.flush()
    record(
        session,
        at=now,
        actor=actor,
        action="sanction.response",
        object_type="sanction",
        object_id=decision.reference,
        reason=response.text,
    )
    return response


def set_turnover(
    session: Session, provider_name: str, year: int, amount: float, now: datetime, actor: str
) -> ProviderTurnover:
    """Record the turnover the regulator established for a provider and year."""
    provider = session.scalar(select(Provider).where(Provider.name == provider_name))
    if provider is None:
        raise SanctionError(f"no provider named {provider_name!r}")
    if amount < 0:
        raise SanctionError("turnover is not negative")
    row = ProviderTurnover(
        provider_id=provider.id, year=year, amount_eur=amount, entered_at=now, entered_by=actor
    )
    session.add(row)
    record(
        session,
        at=now,
        actor=actor,
        action="sanction.turnover",
        object_type="provider",
        object_id=provider.id,
        data={"year": year, "amount_eur": amount},
    )
    return row
