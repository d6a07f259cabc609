"""The provider feed (the Cleannetworks idea): abuse on a provider's own networks, and its answers.

A provider sees its open cases and those closed in the last ``RECENT_DAYS`` as JSON, CSV (safe
against formula injection) and Atom, plus a composed daily digest. It can acknowledge a case,
mark it resolved (which only asks for an immediate re-check: a case is closed by our checks,
never by the provider's word) and ask to change its abuse contact (an analyst confirms).
The cases come through :func:`hostwatch.web.scope.case_filter`, the same rule as the API.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any
from xml.etree import ElementTree as ET

from fastapi import APIRouter, Body, Depends, HTTPException, Request, Response
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from hostwatch.csv_safety import csv_text
from hostwatch.model import Case, Contact, Message, Provider, Url
from hostwatch.model.audit import record
from hostwatch.model.db import lock_row
from hostwatch.model.service import ContactRequest
from hostwatch.settings import Settings
from hostwatch.takedown.compose import message_id, new_ticket, safe_subject
from hostwatch.web.api.common import json_response
from hostwatch.web.auth import Principal
from hostwatch.web.deps import Service, WriteDB, db, require, service
from hostwatch.web.rows import case_row, iso
from hostwatch.web.scope import case_filter, visible_case
from hostwatch.xml_safety import xml_document

RECENT_DAYS = 30
FEED_FIELDS = (
    "id",
    "url",
    "state",
    "classification",
    "reseller",
    "country",
    "opened_at",
    "first_message_at",
    "last_message_at",
    "removed_at",
    "takedown_seconds",
)

router = APIRouter(prefix="/feed", tags=["provider feed"])


def provider_principal(principal: Principal, provider_id: int | None) -> Principal:
    """The provider whose feed is asked for: its own for a provider, any for staff."""
    if principal.role == "provider":
        return principal
    if provider_id is None:
        raise HTTPException(400, "staff must name ?provider_id=")
    return Principal(principal.token_id, "provider", provider_id, principal.label)


def feed_cases(session: Session, who: Principal, now: datetime) -> list[dict[str, Any]]:
    """Open cases and those removed or closed recently, newest first."""
    since = now - timedelta(days=RECENT_DAYS)
    rows = session.execute(
        select(Case, Url.url, Provider.name)
        .join(Url, Url.id == Case.url_id)
        .outerjoin(Provider, Provider.id == Case.provider_id)
        .where(case_filter(session, who))
        .where(
            or_(
                Case.state.not_in(("removed", "closed")),
                Case.state_since >= since,
            )
        )
        .order_by(Case.opened_at.desc(), Case.id.desc())
    ).all()
    return [case_row(c, url, name, identifiers=True, pseudonym_key="") for c, url, name in rows]


def feed_csv(rows: list[dict[str, Any]]) -> str:
    return csv_text([FEED_FIELDS, *([row.get(f) for f in FEED_FIELDS] for row in rows)])


def feed_atom(
    rows: list[dict[str, Any]], provider: str, provider_id: int, now: datetime, self_url: str
) -> bytes:
    """An Atom 1.0 document; ElementTree escapes every text and attribute, and
    :func:`hostwatch.xml_safety.xml_document` drops what XML 1.0 forbids."""
    ns = "http://www.w3.org/2005/Atom"
    ET.register_namespace("", ns)
    feed = ET.Element(f"{{{ns}}}feed")
    ET.SubElement(feed, f"{{{ns}}}id").text = f"urn:hostwatch:provider:{provider_id}:feed"
    ET.SubElement(feed, f"{{{ns}}}title").text = f"hostwatch: abuse cases on {provider}"
    ET.SubElement(feed, f"{{{ns}}}updated").text = iso(now)
    ET.SubElement(feed, f"{{{ns}}}link", rel="self", href=self_url)
    author = ET.SubElement(feed, f"{{{ns}}}author")
    ET.SubElement(author, f"{{{ns}}}name").text = "hostwatch"
    for row in rows:
        entry = ET.SubElement(feed, f"{{{ns}}}entry")
        ET.SubElement(entry, f"{{{ns}}}id").text = f"urn:hostwatch:case:{row['id']}"
        ET.SubElement(entry, f"{{{ns}}}title").text = f"[{row['state']}] {row['url']}"
        ET.SubElement(entry, f"{{{ns}}}updated").text = row["state_since"] or row["opened_at"]
        ET.SubElement(entry, f"{{{ns}}}category", term=row["state"])
        summary = ET.SubElement(entry, f"{{{ns}}}summary", type="text")
        summary.text = (
            f"URL: {row['url']}\nState: {row['state']}\nClassification: "
            f"{row['classification'] or '-'}\nFirst notice sent: {row['first_message_at'] or '-'}"
        )
    return xml_document(feed)


@dataclass(frozen=True)
class Digest:
    provider: str
    to: list[str]
    subject: str
    body: str
    open_cases: int

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


def compose_digest(session: Session, provider_id: int, now: datetime) -> Digest:
    """The daily digest text for one provider: open cases first, then recent removals."""
    provider = session.get(Provider, provider_id)
    if provider is None:
        raise ValueError(f"no provider {provider_id}")
    rows = feed_cases(session, Principal(None, "provider", provider_id), now)
    open_rows = [r for r in rows if r["state"] not in ("removed", "closed")]
    done = [r for r in rows if r["state"] in ("removed", "closed")]
    to = sorted(
        {
            c.email
            for c in session.scalars(
                select(Contact).where(
                    Contact.provider_id == provider_id,
                    Contact.active.is_(True),
                    Contact.do_not_notify.is_(False),
                )
            )
            if c.email
        }
    )
    lines = [
        f"Daily hostwatch digest for {provider.name} ({now:%Y-%m-%d}).",
        "",
        f"Open cases on your networks: {len(open_rows)}",
    ]
    for r in open_rows:
        lines.append(f"  case {r['id']} [{r['state']}] since {r['opened_at']}: {r['url']}")
    lines += ["", f"Removed or closed in the last {RECENT_DAYS} days: {len(done)}"]
    for r in done:
        lines.append(f"  case {r['id']} [{r['state']}] removed {r['removed_at'] or '-'}")
    lines += [
        "",
        "No content is attached or linked beyond the reported URLs. Please remove the material",
        "and mark the case resolved in your feed; our checks confirm removal.",
    ]
    subject = f"hostwatch digest: {len(open_rows)} open case(s) on {provider.name}"
    return Digest(provider.name, to, subject, "\n".join(lines) + "\n", len(open_rows))


DIGEST_EVERY = timedelta(hours=20)  # "daily", with slack for a run that starts a little early


def queue_digests(session: Session, settings: Settings, now: datetime) -> list[int]:
    """Store one digest message per provider with open cases on its networks and an address.

    The messages are intents like every notice: ``hostwatch run`` (the takedown layer's
    delivery) sends them by SMTP or to the outbox. They are linked to no case, so sending one
    never moves a case's notice clock. A provider that got a digest less than 20 h ago is skipped.
    """
    created = []
    for provider_id in session.scalars(select(Provider.id).order_by(Provider.id)):
        digest = compose_digest(session, provider_id, now)
        if not digest.open_cases or not digest.to:
            continue
        for address in digest.to:
            recent = session.scalar(
                select(Message.id).where(
                    Message.kind == "digest",
                    Message.to_address == address,
                    Message.created_at > now - DIGEST_EVERY,
                )
            )
            if recent is not None:
                continue
            ticket = new_ticket(now)
            message = Message(
                ticket=ticket,
                to_address=address,
                kind="digest",
                subject=safe_subject(digest.subject),
                body=digest.body,
                message_id_header=message_id(ticket, settings),
                created_at=now,
            )
            session.add(message)
            session.flush()
            created.append(message.id)
    return created


def acknowledge(session: Session, who: Principal, case_id: int, now: datetime) -> Case:
    case = visible_case(session, who, case_id)
    if case is None:
        raise LookupError("no such case")
    record(
        session,
        at=now,
        actor=who.actor,
        action="provider.acknowledged",
        object_type="case",
        object_id=case.id,
    )
    return case


def mark_resolved(
    session: Session, who: Principal, case_id: int, now: datetime, note: str | None = None
) -> Case:
    """The provider says it removed the URL: check at once, change no state."""
    case = visible_case(session, who, case_id)
    if case is None:
        raise LookupError("no such case")
    case.next_check_at = now
    record(
        session,
        at=now,
        actor=who.actor,
        action="provider.resolved",
        object_type="case",
        object_id=case.id,
        reason=note,
        data={"recheck_at": iso(now), "state": case.state},
    )
    return case


def request_contact(
    session: Session, who: Principal, email: str, note: str | None, now: datetime
) -> ContactRequest:
    email = email.strip()
    if (
        email.count("@") != 1
        or len(email) > 320
        or any(c in email for c in "\r\n\t ,;<>\"'")
        or not all(email.split("@"))
    ):
        raise ValueError("not a single plain e-mail address")
    if who.provider_id is None:
        raise ValueError("only a provider can ask to change its own contact")
    req = ContactRequest(
        provider_id=who.provider_id,
        email=email,
        note=(note or None),
        status="pending",
        requested_at=now,
        requested_by=who.actor,
    )
    session.add(req)
    session.flush()
    record(
        session,
        at=now,
        actor=who.actor,
        action="provider.contact-requested",
        object_type="contact_request",
        object_id=req.id,
        data={"email": email},
    )
    return req


def _who(principal: Principal, provider_id: int | None, session: Session) -> tuple[Principal, str]:
    who = provider_principal(principal, provider_id)
    name = session.scalar(select(Provider.name).where(Provider.id == who.provider_id))
    if name is None:
        raise HTTPException(404, "no such provider")
    return who, name


FeedReader = Annotated[Principal, Depends(require("provider", "admin", "analyst"))]


@router.get("", summary="Open and recent cases on the provider's networks (JSON)")
def feed_json(
    request: Request,
    principal: FeedReader,
    session: Annotated[Session, Depends(db)],
    svc: Annotated[Service, Depends(service)],
    provider_id: int | None = None,
) -> Response:
    who, _ = _who(principal, provider_id, session)
    return json_response(request, feed_cases(session, who, svc.clock.now()))


@router.get(".csv", summary="The same feed as CSV")
def feed_as_csv(
    principal: FeedReader,
    session: Annotated[Session, Depends(db)],
    svc: Annotated[Service, Depends(service)],
    provider_id: int | None = None,
) -> Response:
    who, _ = _who(principal, provider_id, session)
    body = feed_csv(feed_cases(session, who, svc.clock.now()))
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="hostwatch-feed.csv"'},
    )


@router.get(".atom", summary="The same feed as Atom")
def feed_as_atom(
    request: Request,
    principal: FeedReader,
    session: Annotated[Session, Depends(db)],
    svc: Annotated[Service, Depends(service)],
    provider_id: int | None = None,
) -> Response:
    who, name = _who(principal, provider_id, session)
    now = svc.clock.now()
    body = feed_atom(
        feed_cases(session, who, now), name, who.provider_id or 0, now, str(request.url)
    )
    return Response(body, media_type="application/atom+xml; charset=utf-8")


@router.get("/digest", summary="The daily digest message composed for the provider")
def feed_digest(
    request: Request,
    principal: FeedReader,
    session: Annotated[Session, Depends(db)],
    svc: Annotated[Service, Depends(service)],
    provider_id: int | None = None,
) -> Response:
    who, _ = _who(principal, provider_id, session)
    digest = compose_digest(session, who.provider_id or 0, svc.clock.now())
    return json_response(request, digest.as_dict())


ProviderOnly = Annotated[Principal, Depends(require("provider"))]


@router.post("/cases/{case_id}/ack", summary="Acknowledge a case")
def feed_ack(
    case_id: int,
    principal: ProviderOnly,
    session: WriteDB,
    svc: Annotated[Service, Depends(service)],
) -> dict[str, Any]:
    lock_row(session, Case, case_id)
    try:
        case = acknowledge(session, principal, case_id, svc.clock.now())
    except LookupError as exc:
        raise HTTPException(404, str(exc)) from exc
    return {"case": case.id, "acknowledged": True}


@router.post(
    "/cases/{case_id}/resolve",
    summary="Report removal: schedules an immediate re-check; closes nothing",
)
def feed_resolve(
    case_id: int,
    principal: ProviderOnly,
    session: WriteDB,
    svc: Annotated[Service, Depends(service)],
    note: Annotated[str | None, Body(embed=True, max_length=2000)] = None,
) -> dict[str, Any]:
    lock_row(session, Case, case_id)
    try:
        case = mark_resolved(session, principal, case_id, svc.clock.now(), note)
    except LookupError as exc:
        raise HTTPException(404, str(exc)) from exc
    return {"case": case.id, "state": case.state, "recheck_at": iso(case.next_check_at)}


@router.post(
    "/contact",
    status_code=202,
    summary="Ask to change the abuse contact (pending analyst confirmation)",
)
def feed_contact(
    principal: ProviderOnly,
    session: WriteDB,
    svc: Annotated[Service, Depends(service)],
    email: Annotated[str, Body(embed=True, max_length=320)],
    note: Annotated[str | None, Body(embed=True, max_length=2000)] = None,
) -> dict[str, Any]:
    try:
        req = request_contact(session, principal, email, note, svc.clock.now())
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from exc
    return {"request": req.id, "status": req.status}
