"""A provider's answers through its feed, and an analyst's decision on them.

A provider can acknowledge a case, say it removed the URL (which only asks for an immediate
re-check: a case is closed by our checks, never by the provider's word) and ask to change its
abuse contact, which waits for an analyst. Confirming stores the address as a manual contact of
the provider through the contact book (:func:`hostwatch.takedown.contacts.add_contact`), so it
wins over automatic data. Every answer and decision is an audit event. The caller has already
checked that the case is one the provider may see.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from hostwatch.model import Case, Provider
from hostwatch.model.audit import record
from hostwatch.model.service import ContactRequest
from hostwatch.takedown.contacts import ContactSpec, add_contact

_NOT_IN_AN_ADDRESS = "\r\n\t ,;<>\"'"


def acknowledge(session: Session, case: Case, *, actor: str, now: datetime) -> Case:
    record(
        session,
        at=now,
        actor=actor,
        action="provider.acknowledged",
        object_type="case",
        object_id=case.id,
    )
    return case


def mark_resolved(
    session: Session, case: Case, *, actor: str, now: datetime, note: str | None = None
) -> Case:
    """The provider says it removed the URL: check at once, change no state."""
    case.next_check_at = now
    record(
        session,
        at=now,
        actor=actor,
        action="provider.resolved",
        object_type="case",
        object_id=case.id,
        reason=note,
        data={"recheck_at": now.isoformat(), "state": case.state},
    )
    return case


def request_contact(
    session: Session,
    provider_id: int,
    email: str,
    note: str | None,
    *,
    actor: str,
    now: datetime,
) -> ContactRequest:
    """Store a provider's wish for a new abuse address, pending an analyst's decision."""
    email = email.strip()
    if (
        email.count("@") != 1
        or len(email) > 320
        or any(c in email for c in _NOT_IN_AN_ADDRESS)
        or not all(email.split("@"))
    ):
        raise ValueError("not a single plain e-mail address")
    req = ContactRequest(
        provider_id=provider_id,
        email=email,
        note=(note or None),
        status="pending",
        requested_at=now,
        requested_by=actor,
    )
    session.add(req)
    session.flush()
    record(
        session,
        at=now,
        actor=actor,
        action="provider.contact-requested",
        object_type="contact_request",
        object_id=req.id,
        data={"email": email},
    )
    return req


def pending_requests(session: Session) -> list[tuple[ContactRequest, str]]:
    return [
        (r, name)
        for r, name in session.execute(
            select(ContactRequest, Provider.name)
            .join(Provider, Provider.id == ContactRequest.provider_id)
            .where(ContactRequest.status == "pending")
            .order_by(ContactRequest.id)
        )
    ]


def decide(
    session: Session, request_id: int, *, confirm: bool, actor: str, now: datetime
) -> ContactRequest:
    req = session.get(ContactRequest, request_id)
    if req is None:
        raise LookupError("no such contact request")
    if req.status != "pending":
        raise ValueError(f"request already {req.status}")
    req.status = "confirmed" if confirm else "rejected"
    req.decided_at = now
    req.decided_by = actor
    if confirm:
        provider = session.get(Provider, req.provider_id)
        if provider is None:
            raise LookupError("the provider of this request no longer exists")
        spec = ContactSpec(
            name=provider.name,
            email=req.email,
            provenance=f"provider request {req.id}, confirmed by {actor}",
        )
        add_contact(session, spec, now=now, actor=actor)
    record(
        session,
        at=now,
        actor=actor,
        action=f"contact-request.{req.status}",
        object_type="contact_request",
        object_id=req.id,
        data={"email": req.email},
    )
    return req
