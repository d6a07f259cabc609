"""A case's history in time order: notices, attributions, messages, deliveries, checks, audit.

The analyst and the regulator see everything. A provider sees what concerns it and nothing about
the reporter or other parties: notice times and classification (no source, reference or raw
line), the notices and re-notices sent to it, our checks, and the audit events of the case's
state changes and of its own feed actions; escalations to others stay hidden.
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
    Delivery,
    Message,
    MessageCase,
    Notice,
)
from hostwatch.web.rows import iso

PROVIDER_MESSAGE_KINDS = ("notice", "renotice", "digest")
PROVIDER_AUDIT_PREFIXES = ("case.", "provider.")


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


def _messages(session: Session, case: Case, full: bool) -> list[Event]:
    query = (
        select(Message)
        .join(MessageCase, MessageCase.message_id == Message.id)
        .where(MessageCase.case_id == case.id)
    )
    if not full:
        query = query.where(Message.kind.in_(PROVIDER_MESSAGE_KINDS))
    out = []
    message_ids = []
    for m in session.scalars(query):
        message_ids.append(m.id)
        out.append(
            Event(
                m.created_at,
                "message",
                f"{m.kind} to {m.to_address}: {m.subject}",
                {
                    "ticket": m.ticket,
                    "to": m.to_address,
                    "message_kind": m.kind,
                    "escalation_level": m.escalation_level,
                },
            )
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


def _audit(session: Session, case: Case, full: bool) -> list[Event]:
    rows = session.scalars(
        select(AuditEvent).where(
            AuditEvent.object_type == "case", AuditEvent.object_id == str(case.id)
        )
    )
    out = []
    for e in rows:
        if not full and not e.action.startswith(PROVIDER_AUDIT_PREFIXES):
            continue
        detail: dict[str, Any] = {"action": e.action, "reason": e.reason, "audit_id": e.id}
        if full:
            detail.update(actor=e.actor, data=e.data, hash=e.hash)
        out.append(
            Event(e.at, "audit", f"{e.action}" + (f": {e.reason}" if e.reason else ""), detail)
        )
    return out


def case_timeline(session: Session, case: Case, *, for_provider: bool = False) -> list[Event]:
    full = not for_provider
    events = _notices(session, case, full) + _messages(session, case, full)
    events += _checks(session, case) + _audit(session, case, full)
    if full:
        events += _attributions(session, case)
    return sorted(events, key=lambda e: (e.at, e.kind))
