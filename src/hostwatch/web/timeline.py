"""A case's history in time order: notices, attributions, messages, deliveries, checks, audit.

Oversight (admin, analyst, regulator, and the regulator's dossier) sees everything. A provider's
timeline is built from the allow-lists of :mod:`hostwatch.web.disclosure`, never by removing what
looks dangerous: notice times and classification (no source, reference or raw line); the
messages sent to its own contacts, of the kinds it may see, and their deliveries; our checks;
state changes into states it may see, without their reasons (a reason can name whoever was
written to); and its own feed actions. Escalations, referrals, police routes, watchlist matches,
moves to another provider and every other party stay out, ids included.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hostwatch.model import (
    Attribution,
    AuditEvent,
    Case,
    Check,
    Contact,
    Delivery,
    Message,
    MessageCase,
    Notice,
)
from hostwatch.web.auth import Principal
from hostwatch.web.disclosure import (
    FULL,
    PROVIDER_AUDIT_STATES,
    PROVIDER_MESSAGE_KINDS,
    PROVIDER_OWN_ACTIONS,
    disclose,
    own_actors,
)
from hostwatch.web.rows import iso


@dataclass(frozen=True)
class Event:
    at: datetime
    kind: str  # notice | attribution | message | delivery | check | audit
    summary: str
    detail: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"at": iso(self.at), "kind": self.kind, "summary": self.summary, **self.detail}


def _notices(session: Session, case: Case, full: bool) -> list[Event]:
    out = []
    for n in session.scalars(select(Notice).where(Notice.url_id == case.url_id)):
        detail: dict[str, Any] = {"classification": n.classification}
        if full:
            detail.update(source=n.source, reference=n.reference, format=n.format)
        out.append(
            Event(n.received_at, "notice", f"notice received ({n.classification or '-'})", detail)
        )
    return out


def _attributions(session: Session, case: Case) -> list[Event]:
    rows = session.scalars(select(Attribution).where(Attribution.url_id == case.url_id))
    return [
        Event(
            a.computed_at,
            "attribution",
            f"attributed: AS{a.origin_asn or '?'} {a.as_org or ''} ({a.status})",
            {
                "ip": a.ip,
                "prefix": a.prefix,
                "asn": a.origin_asn,
                "reseller": a.reseller,
                "country": a.country,
                "abuse_contact": a.abuse_contact,
            },
        )
        for a in rows
    ]


def _messages(session: Session, case: Case, provider_id: int | None) -> list[Event]:
    """All messages of the case, or for a provider those to its own contacts of allowed kinds."""
    query = (
        select(Message)
        .join(MessageCase, MessageCase.message_id == Message.id)
        .where(MessageCase.case_id == case.id)
    )
    if provider_id is not None:
        query = query.join(Contact, Contact.id == Message.contact_id).where(
            Contact.provider_id == provider_id,
            Message.kind.in_(PROVIDER_MESSAGE_KINDS),
        )
    out = []
    message_ids = []
    for m in session.scalars(query):
        message_ids.append(m.id)
        detail: dict[str, Any] = {"ticket": m.ticket, "to": m.to_address, "message_kind": m.kind}
        if provider_id is None:
            detail["escalation_level"] = m.escalation_level
        out.append(
            Event(m.created_at, "message", f"{m.kind} to {m.to_address}: {m.subject}", detail)
        )
    if message_ids:
        for d in session.scalars(select(Delivery).where(Delivery.message_id.in_(message_ids))):
            out.append(
                Event(
                    d.attempted_at,
                    "delivery",
                    f"delivery {d.outcome} via {d.transport}",
                    {"message_id": d.message_id, "smtp_code": d.smtp_code},
                )
            )
    return out


def _checks(session: Session, case: Case) -> list[Event]:
    rows = session.scalars(
        select(Check).where((Check.case_id == case.id) | (Check.url_id == case.url_id))
    )
    return [
        Event(
            c.checked_at,
            "check",
            f"check: {'online' if c.online else 'offline'} ({c.outcome}"
            f"{', HTTP ' + str(c.http_status) if c.http_status else ''})",
            {"online": c.online, "outcome": c.outcome, "http_status": c.http_status},
        )
        for c in rows
    ]


def _case_audit(session: Session, case: Case) -> list[AuditEvent]:
    return list(
        session.scalars(
            select(AuditEvent).where(
                AuditEvent.object_type == "case", AuditEvent.object_id == str(case.id)
            )
        )
    )


def _audit_full(session: Session, case: Case) -> list[Event]:
    return [
        Event(
            e.at,
            "audit",
            f"{e.action}" + (f": {e.reason}" if e.reason else ""),
            {
                "action": e.action,
                "reason": e.reason,
                "audit_id": e.id,
                "actor": e.actor,
                "data": e.data,
                "hash": e.hash,
            },
        )
        for e in _case_audit(session, case)
    ]


def _audit_for_provider(session: Session, case: Case, viewer: Principal) -> list[Event]:
    """State changes into states the provider may see, and its own feed actions; no reasons."""
    mine = own_actors(session, viewer)
    out = []
    for e in _case_audit(session, case):
        state = e.action.removeprefix("case.") if e.action.startswith("case.") else None
        if state in PROVIDER_AUDIT_STATES:
            summary = f"state: {state}"
        elif e.action in PROVIDER_OWN_ACTIONS and e.actor in mine:
            summary = e.action
        else:
            continue
        out.append(Event(e.at, "audit", summary, {"action": e.action, "audit_id": e.id}))
    return out


def case_timeline(session: Session, case: Case, viewer: Principal | None = None) -> list[Event]:
    """The case's events as ``viewer`` may see them; ``None`` is oversight (the dossier)."""
    if viewer is None or viewer.role in FULL:
        events = _notices(session, case, True) + _messages(session, case, None)
        events += _checks(session, case) + _audit_full(session, case)
        events += _attributions(session, case)
    elif viewer.role != "provider" or viewer.provider_id is None:
        events = []
    else:
        events = _notices(session, case, False) + _messages(session, case, viewer.provider_id)
        events += _checks(session, case) + _audit_for_provider(session, case, viewer)
    return sorted(events, key=lambda e: (e.at, e.kind))


def timeline_rows(session: Session, case: Case, viewer: Principal) -> list[dict[str, Any]]:
    """The timeline as the API and the portal show it, each event through the field policy."""
    return [
        disclose("timeline_event", e.as_dict(), viewer)
        for e in case_timeline(session, case, viewer)
    ]
