"""An analyst's decision on a provider's contact change request.

Confirming stores the address as a manual contact of the provider through the takedown layer's
contact book (:func:`hostwatch.takedown.contacts.add_contact`), so it wins over automatic data;
both decisions are audit events.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from hostwatch.model import Provider
from hostwatch.model.audit import record
from hostwatch.model.service import ContactRequest
from hostwatch.takedown.contacts import ContactSpec, add_contact


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
        assert provider is not None
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
