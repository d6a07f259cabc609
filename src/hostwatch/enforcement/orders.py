"""Removal orders: issue, amend, withdraw, acknowledge, object; and how an order stands.

An order is a record and never changes. Its delivery is a message through the notice chain's
transport (the same outbox or SMTP, so the same delivery records prove it went out), its
acknowledgement and objection are order events, and how it stands is judged from the checks each
time it is asked for (:mod:`hostwatch.enforcement.compliance`). Every step is an audit event.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hostwatch.enforcement.compliance import (
    conclusive_checks,
    from_issue,
    judge,
    order_status,
)
from hostwatch.enforcement.deadlines import OrderPolicy
from hostwatch.enforcement.notice import order_message
from hostwatch.model.attribution import Attribution
from hostwatch.model.audit import record
from hostwatch.model.case import Case
from hostwatch.model.message import Delivery, Message
from hostwatch.model.order import Order, OrderCase, OrderEvent, OrderProposal
from hostwatch.model.party import Contact, Provider
from hostwatch.model.url import Url
from hostwatch.settings import Settings
from hostwatch.takedown.appointments import make_appointments
from hostwatch.takedown.contacts import destination, reachable

ORDER_CONTACT_ROLES = ("order", "provider", "hoster")


class OrderError(ValueError):
    """An order that cannot be issued or changed as asked; the message is safe to show."""


@dataclass(frozen=True)
class CaseOutcome:
    case_id: int
    url: str
    outcome: str
    removed_at: datetime | None
    last_online_at: datetime | None
    reason: str


@dataclass(frozen=True)
class OrderView:
    """An order as it stands now: the contract's fields and the evidence around them."""

    reference: str
    provider: str
    provider_id: int
    classification: str
    basis: str
    issued_at: datetime
    deadline_at: datetime
    deadline_hours: float
    status: str
    cases: list[CaseOutcome]
    delivered_at: datetime | None
    delivery: str | None
    acknowledged_at: datetime | None
    objections: list[dict[str, Any]] = field(default_factory=list)
    amendments: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "reference": self.reference,
            "provider": self.provider,
            "classification": self.classification,
            "basis": self.basis,
            "issued_at": _iso(self.issued_at),
            "deadline_at": _iso(self.deadline_at),
            "deadline_hours": self.deadline_hours,
            "status": self.status,
            "delivered_at": _iso(self.delivered_at),
            "delivery": self.delivery,
            "acknowledged_at": _iso(self.acknowledged_at),
            "objections": self.objections,
            "amendments": self.amendments,
            "cases": [
                {
                    "case_id": c.case_id,
                    "url": c.url,
                    "outcome": c.outcome,
                    "removed_at": _iso(c.removed_at),
                    "last_online_at": _iso(c.last_online_at),
                    "reason": c.reason,
                }
                for c in self.cases
            ],
        }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def _provider(session: Session, name: str) -> Provider:
    provider = session.scalar(select(Provider).where(Provider.name == name))
    if provider is None:
        raise OrderError(f"no provider named {name!r}")
    return provider


def _order_contact(session: Session, provider: Provider) -> Contact | None:
    """The provider's order contact if it registered one (the point of contact a hosting
    provider designates for removal orders, TCO regulation art. 15), else its own abuse contact.

    A provider can hold several automatic abuse addresses, some of them its resellers' (taken
    from the sub-allocations in its space); an order is addressed to the hosting provider, so
    its own address is the one its own space reports, not its resellers' sub-allocations.
    """
    contacts = session.scalars(
        select(Contact).where(
            Contact.provider_id == provider.id,
            Contact.active.is_(True),
            Contact.role.in_(ORDER_CONTACT_ROLES),
            Contact.network.is_(None),
        )
    ).all()
    # +1 per attribution in the provider's own space naming the address, -1 per attribution
    # in a reseller's sub-allocation naming it
    score: dict[str, int] = {}
    for address, resold, count in session.execute(
        select(
            func.lower(Attribution.abuse_contact),
            Attribution.reseller.is_not(None),
            func.count(),
        )
        .where(Attribution.provider_id == provider.id)
        .group_by(func.lower(Attribution.abuse_contact), Attribution.reseller.is_not(None))
    ):
        score[address] = score.get(address, 0) + (-count if resold else count)
    # never a reseller's address in lieu of the provider's: better undelivered than misdirected
    usable = [
        c
        for c in contacts
        if reachable(c, "order")
        and (c.role == "order" or score.get((c.email or "").lower(), 0) >= 0)
    ]
    ranked = sorted(
        usable,
        key=lambda c: (
            ORDER_CONTACT_ROLES.index(c.role),
            c.source != "manual",
            -score.get((c.email or "").lower(), 0),
            c.id,
        ),
    )
    return ranked[0] if ranked else None


def _next_reference(session: Session, now: datetime) -> str:
    """ORD-<year>-<n>: sequential per year, so a replayed year gives the same references."""
    start = now.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
    count = session.scalar(select(func.count()).select_from(Order).where(Order.issued_at >= start))
    return f"ORD-{now:%Y}-{(count or 0) + 1:05d}"


def issue_order(
    session: Session,
    *,
    provider_name: str,
    case_ids: list[int],
    deadline_hours: float | None,
    basis: str | None,
    policy: OrderPolicy,
    settings: Settings,
    now: datetime,
    actor: str,
) -> Order:
    """Issue an order and queue its delivery (the caller sends the message it names).

    Times are kept to the second: an order is a legal document and states its deadline so.
    """
    now = now.replace(microsecond=0)
    if not case_ids:
        raise OrderError("an order names at least one case")
    provider = _provider(session, provider_name)
    cases = session.scalars(
        select(Case).where(Case.id.in_(case_ids)).order_by(Case.id).with_for_update()
    ).all()
    missing = sorted(set(case_ids) - {c.id for c in cases})
    if missing:
        raise OrderError(f"no case {', '.join(map(str, missing))}")
    foreign = [c.id for c in cases if c.provider_id != provider.id]
    if foreign:
        raise OrderError(
            f"case {', '.join(map(str, foreign))} is not attributed to {provider.name!r}"
        )
    kinds = {policy.kind_of(c.classification).name for c in cases}
    if len(kinds) > 1:
        raise OrderError("an order concerns one kind of content; issue one order per kind")
    kind = policy.kind_of(cases[0].classification)
    hours = policy.deadline_hours(kind, deadline_hours)
    contact = _order_contact(session, provider)
    order = Order(
        reference=_next_reference(session, now),
        kind="order",
        provider_id=provider.id,
        classification=kind.name,
        basis=(basis or f"removal order for {kind.label}").strip(),
        issued_at=now,
        deadline_hours=hours,
        deadline_at=now + timedelta(hours=hours),
        issued_by=actor,
        contact_email=destination(contact) if contact else None,
    )
    session.add(order)
    session.flush()
    for case in cases:
        session.add(OrderCase(order_id=order.id, case_id=case.id))
    urls = dict(
        session.execute(
            select(Case.id, Url.url).join(Url, Url.id == Case.url_id).where(Case.id.in_(case_ids))
        ).all()
    )
    if contact is not None:
        message = order_message(
            order, provider, contact, [urls[c.id] for c in cases], kind, policy, settings, now
        )
        session.add(message)
        session.flush()
        order.message_id = message.id
    make_appointments(
        session,
        [c.id for c in cases],
        [t for t in policy.check_times(order.issued_at, order.deadline_at) if t > now],
        f"order {order.reference}",
    )
    for proposal in session.scalars(
        select(OrderProposal).where(
            OrderProposal.case_id.in_(case_ids), OrderProposal.order_id.is_(None)
        )
    ):
        proposal.order_id = order.id
    record(
        session,
        at=now,
        actor=actor,
        action="order.issued",
        object_type="order",
        object_id=order.reference,
        reason=order.basis,
        data={
            "provider": provider.name,
            "cases": [c.id for c in cases],
            "deadline_at": _iso(order.deadline_at),
            "contact": order.contact_email,
        },
    )
    return order


def _amendments(session: Session, order: Order) -> list[Order]:
    return list(
        session.scalars(
            select(Order).where(Order.amends_id == order.id).order_by(Order.issued_at, Order.id)
        )
    )


def _deadline(session: Session, order: Order) -> datetime:
    changes = [a for a in _amendments(session, order) if a.kind == "amendment"]
    return changes[-1].deadline_at if changes else order.deadline_at


def find_order(session: Session, reference: str, provider_id: int | None = None) -> Order:
    """The original order with this reference (a provider finds only its own)."""
    query = select(Order).where(Order.reference == reference, Order.kind == "order")
    if provider_id is not None:
        query = query.where(Order.provider_id == provider_id)
    order = session.scalar(query)
    if order is None:
        raise OrderError(f"no order {reference!r}")
    return order


def amend_order(
    session: Session,
    reference: str,
    *,
    deadline_hours: float | None,
    basis: str | None,
    withdraw: bool,
    policy: OrderPolicy,
    now: datetime,
    actor: str,
) -> Order:
    """A new record that changes the deadline or basis of an order, or withdraws it."""
    order = find_order(session, reference)
    if any(a.kind == "withdrawal" for a in _amendments(session, order)):
        raise OrderError(f"order {reference} is withdrawn")
    kind = "withdrawal" if withdraw else "amendment"
    hours = order.deadline_hours
    if not withdraw:
        hours = policy.deadline_hours(policy.kind_of(order.classification), deadline_hours)
    change = Order(
        reference=f"{order.reference}-{kind[0].upper()}{len(_amendments(session, order)) + 1}",
        kind=kind,
        amends_id=order.id,
        provider_id=order.provider_id,
        classification=order.classification,
        basis=(basis or order.basis).strip(),
        issued_at=now,
        deadline_hours=hours,
        deadline_at=order.issued_at + timedelta(hours=hours),
        issued_by=actor,
        contact_email=order.contact_email,
    )
    session.add(change)
    if not withdraw:
        make_appointments(
            session,
            [
                link.case_id
                for link in session.scalars(select(OrderCase).where(OrderCase.order_id == order.id))
            ],
            [t for t in policy.check_times(order.issued_at, change.deadline_at) if t > now],
            f"order {change.reference}",
        )
    record(
        session,
        at=now,
        actor=actor,
        action=f"order.{'withdrawn' if withdraw else 'amended'}",
        object_type="order",
        object_id=order.reference,
        reason=change.basis,
        data={"deadline_at": _iso(change.deadline_at), "record": change.reference},
    )
    return change


def respond(
    session: Session,
    reference: str,
    *,
    kind: str,
    text: str | None,
    provider_id: int | None,
    now: datetime,
    actor: str,
) -> OrderEvent:
    """The provider acknowledges an order or objects to it (one acknowledgement counts)."""
    if kind not in ("acknowledged", "objection"):
        raise OrderError(f"unknown response {kind!r}")
    order = find_order(session, reference, provider_id)
    if kind == "objection" and not (text and text.strip()):
        raise OrderError("an objection states its grounds")
    event = OrderEvent(
        order_id=order.id, kind=kind, at=now, actor=actor, text=(text or "").strip()[:4000] or None
    )
    session.add(event)
    record(
        session,
        at=now,
        actor=actor,
        action=f"order.{kind}",
        object_type="order",
        object_id=order.reference,
        reason=event.text,
    )
    return event


def propose_order(
    session: Session, case_id: int, note: str | None, now: datetime, actor: str
) -> OrderProposal:
    """An analyst asks the regulator to issue an order for a case."""
    if session.get(Case, case_id) is None:
        raise OrderError(f"no case {case_id}")
    proposal = OrderProposal(case_id=case_id, proposed_at=now, proposed_by=actor, note=note)
    session.add(proposal)
    session.flush()
    record(
        session,
        at=now,
        actor=actor,
        action="order.proposed",
        object_type="case",
        object_id=case_id,
        reason=note,
    )
    return proposal


def view_orders(
    session: Session,
    *,
    now: datetime,
    offline_after: int,
    provider_id: int | None = None,
    reference: str | None = None,
    period: tuple[datetime, datetime] | None = None,
) -> list[OrderView]:
    """Orders (originals) as they stand at ``now``, newest first."""
    query = select(Order, Provider.name).join(Provider, Provider.id == Order.provider_id)
    query = query.where(Order.kind == "order")
    if provider_id is not None:
        query = query.where(Order.provider_id == provider_id)
    if reference is not None:
        query = query.where(Order.reference == reference)
    if period is not None:
        query = query.where(Order.issued_at >= period[0], Order.issued_at < period[1])
    orders = session.execute(query.order_by(Order.issued_at.desc(), Order.id.desc())).all()
    if not orders:
        return []
    ids = [o.id for o, _ in orders]
    links = session.execute(
        select(OrderCase.order_id, Case.id, Url.url)
        .join(Case, Case.id == OrderCase.case_id)
        .join(Url, Url.id == Case.url_id)
        .where(OrderCase.order_id.in_(ids))
        .order_by(OrderCase.order_id, Case.id)
    ).all()
    seen = conclusive_checks(session, [case_id for _, case_id, _ in links])
    events = session.scalars(
        select(OrderEvent)
        .where(OrderEvent.order_id.in_(ids))
        .order_by(OrderEvent.at, OrderEvent.id)
    ).all()
    views = []
    for order, provider_name in orders:
        changes = _amendments(session, order)
        deadline_at = order.deadline_at
        deadline_hours = order.deadline_hours
        for change in changes:
            if change.kind == "amendment":
                deadline_at, deadline_hours = change.deadline_at, change.deadline_hours
        withdrawn = any(c.kind == "withdrawal" for c in changes)
        outcomes = []
        for order_id, case_id, url in links:
            if order_id != order.id:
                continue
            j = judge(from_issue(seen[case_id], order.issued_at), deadline_at, now, offline_after)
            outcomes.append(
                CaseOutcome(case_id, url, j.outcome, j.removed_at, j.last_online_at, j.reason)
            )
        mine = [e for e in events if e.order_id == order.id]
        acks = [e.at for e in mine if e.kind == "acknowledged"]
        delivered_at, delivery = _delivery(session, order)
        views.append(
            OrderView(
                reference=order.reference,
                provider=provider_name,
                provider_id=order.provider_id,
                classification=order.classification,
                basis=order.basis,
                issued_at=order.issued_at,
                deadline_at=deadline_at,
                deadline_hours=deadline_hours,
                status=order_status([c.outcome for c in outcomes], withdrawn),
                cases=outcomes,
                delivered_at=delivered_at,
                delivery=delivery,
                acknowledged_at=acks[0] if acks else None,
                objections=[
                    {"at": _iso(e.at), "text": e.text} for e in mine if e.kind == "objection"
                ],
                amendments=[c.reference for c in changes],
            )
        )
    return views


def _delivery(session: Session, order: Order) -> tuple[datetime | None, str | None]:
    """When the order's message was accepted, and by what: the proof of delivery."""
    if order.message_id is None:
        return None, "no order or abuse contact with an address"
    rows = session.execute(
        select(Delivery.attempted_at, Delivery.outcome, Delivery.transport, Delivery.smtp_code)
        .where(Delivery.message_id == order.message_id)
        .order_by(Delivery.attempted_at, Delivery.id)
    ).all()
    for at, outcome, transport, code in rows:
        if outcome == "sent":
            return at, f"{transport} accepted" + (f" ({code})" if code else "")
    if rows:
        return None, f"{rows[-1].outcome} ({rows[-1].transport})"
    return None, "queued"


def order_message_id(session: Session, reference: str) -> int | None:
    """The message that carries an order, for the caller to send at once."""
    return session.scalar(
        select(Message.id)
        .join(Order, Order.message_id == Message.id)
        .where(Order.reference == reference)
    )
