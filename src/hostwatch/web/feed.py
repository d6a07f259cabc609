"""The provider feed (the Cleannetworks idea): abuse on a provider's own networks, and its answers.

A provider sees its open cases and those closed recently (:mod:`hostwatch.takedown.provider_feed`)
as JSON, CSV (safe against formula injection) and Atom, plus its composed daily digest, each row
through the disclosure policy (:mod:`hostwatch.web.disclosure`) as the provider may see it. It can
acknowledge a case, mark it resolved and ask to change its abuse contact
(:mod:`hostwatch.takedown.provider_answers`). Staff may read any provider's feed as that
provider sees it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any
from xml.etree import ElementTree as ET

from fastapi import APIRouter, Body, Depends, HTTPException, Request, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from hostwatch.attribution.asset_match import cases_in_verified_space
from hostwatch.csv_safety import csv_text
from hostwatch.model import Case, Provider, Url
from hostwatch.model.db import lock_row
from hostwatch.takedown import provider_answers, provider_feed
from hostwatch.web.api.common import Caller, Page, Paging, json_document, json_response, trim
from hostwatch.web.auth import Principal
from hostwatch.web.deps import Service, WriteDB, db, service
from hostwatch.web.disclosure import disclose, visible_case
from hostwatch.web.rows import CASE_COLUMNS, case_rows, iso
from hostwatch.xml_safety import xml_document

FEED_FIELDS = (
    "id",
    "url",
    "state",
    "classification",
    "reseller",
    "country",
    "opened_at",
    "first_message_at",
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


@dataclass(frozen=True)
class FeedPage:
    rows: list[dict[str, Any]]
    valid_until: datetime | None
    """Until when the clock alone leaves these rows unchanged (None: for ever)."""
    next_cursor: int | None


def feed_rows(session: Session, who: Principal, now: datetime, page: Page | None) -> FeedPage:
    """The provider's feed rows (:mod:`hostwatch.takedown.provider_feed` decides which, in
    which order), as that provider may see them, read as plain columns rather than ORM objects;
    one page of them when ``page`` is given, else all."""
    provider_id = who.provider_id or 0
    space = cases_in_verified_space(session, provider_id)
    query = (
        select(*CASE_COLUMNS)
        .select_from(Case)
        .join(Url, Url.id == Case.url_id)
        .outerjoin(Provider, Provider.id == Case.provider_id)
        .where(provider_feed.feed_filter(session, provider_id, now, space))
        .order_by(*provider_feed.FEED_ORDER)
    )
    more = False
    if page is not None:
        if page.after is not None:
            query = query.where(provider_feed.after_in_feed(space, page.after))
        rows, more = trim(session.execute(query.limit(page.limit + 1)).all(), page)
    else:
        rows = session.execute(query).all()
    valid_until = provider_feed.feed_valid_until((row.state, row.state_since) for row in rows)
    shown = case_rows(rows, identifiers=True, pseudonym_key="")
    return FeedPage(
        [disclose("case", row, who) for row in shown],
        valid_until,
        rows[-1].id if more else None,
    )


def feed_cases(session: Session, who: Principal, now: datetime) -> list[dict[str, Any]]:
    """The provider's whole feed as that provider may see it."""
    return feed_rows(session, who, now, None).rows


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


def _case_for(session: Session, who: Principal, case_id: int) -> Case:
    case = visible_case(session, who, case_id)
    if case is None:
        raise HTTPException(404, "no such case")
    return case


def _who(principal: Principal, provider_id: int | None, session: Session) -> Principal:
    """The provider whose feed is read; 404 when staff name one that does not exist (a provider
    token's own provider exists: the token refers to it)."""
    who = provider_principal(principal, provider_id)
    if who is not principal and session.get(Provider, who.provider_id) is None:
        raise HTTPException(404, "no such provider")
    return who


@router.get(
    "",
    summary="Open and recent cases on the provider's networks (JSON; newest first, paged like "
    "the case list: ?limit=, ?cursor= from X-Next-Cursor)",
)
async def feed_json(
    request: Request,
    page: Paging,
    principal: Caller,
    svc: Annotated[Service, Depends(service)],
    provider_id: int | None = None,
) -> Response:
    now = svc.clock.now()

    def compute(session: Session) -> tuple[Response, datetime | None]:
        who = _who(principal, provider_id, session)
        got = feed_rows(session, who, now, page)
        return json_document(request, got.rows, next_cursor=got.next_cursor), got.valid_until

    return await svc.reads.answer(request, principal, now, compute)


@router.get(".csv", summary="The same feed as CSV")
def feed_as_csv(
    principal: Caller,
    session: Annotated[Session, Depends(db)],
    svc: Annotated[Service, Depends(service)],
    provider_id: int | None = None,
) -> Response:
    who = _who(principal, provider_id, session)
    body = feed_csv(feed_cases(session, who, svc.clock.now()))
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="hostwatch-feed.csv"'},
    )


@router.get(".atom", summary="The same feed as Atom")
def feed_as_atom(
    request: Request,
    principal: Caller,
    session: Annotated[Session, Depends(db)],
    svc: Annotated[Service, Depends(service)],
    provider_id: int | None = None,
) -> Response:
    who = _who(principal, provider_id, session)
    now = svc.clock.now()
    name = session.scalar(select(Provider.name).where(Provider.id == who.provider_id)) or ""
    body = feed_atom(
        feed_cases(session, who, now), name, who.provider_id or 0, now, str(request.url)
    )
    return Response(body, media_type="application/atom+xml; charset=utf-8")


@router.get("/digest", summary="The daily digest message composed for the provider")
def feed_digest(
    request: Request,
    principal: Caller,
    session: Annotated[Session, Depends(db)],
    svc: Annotated[Service, Depends(service)],
    provider_id: int | None = None,
) -> Response:
    who = _who(principal, provider_id, session)
    digest = provider_feed.compose_digest(session, who.provider_id or 0, svc.clock.now())
    return json_response(request, disclose("digest", digest.as_dict(), who))


@router.post("/cases/{case_id}/ack", summary="Acknowledge a case")
def feed_ack(
    case_id: int,
    principal: Caller,
    session: WriteDB,
    svc: Annotated[Service, Depends(service)],
) -> dict[str, Any]:
    lock_row(session, Case, case_id)
    case = _case_for(session, principal, case_id)
    provider_answers.acknowledge(session, case, actor=principal.actor, now=svc.clock.now())
    return disclose("feed_answer", {"case": case.id, "acknowledged": True}, principal)


@router.post(
    "/cases/{case_id}/resolve",
    summary="Report removal: schedules an immediate re-check; closes nothing",
)
def feed_resolve(
    case_id: int,
    principal: Caller,
    session: WriteDB,
    svc: Annotated[Service, Depends(service)],
    note: Annotated[str | None, Body(embed=True, max_length=2000)] = None,
) -> dict[str, Any]:
    lock_row(session, Case, case_id)
    case = _case_for(session, principal, case_id)
    now = svc.clock.now()
    provider_answers.mark_resolved(session, case, actor=principal.actor, now=now, note=note)
    answer = {"case": case.id, "state": case.state, "recheck_at": iso(case.next_check_at)}
    return disclose("feed_answer", answer, principal)


@router.post(
    "/contact",
    status_code=202,
    summary="Ask to change the abuse contact (pending analyst confirmation)",
)
def feed_contact(
    principal: Caller,
    session: WriteDB,
    svc: Annotated[Service, Depends(service)],
    email: Annotated[str, Body(embed=True, max_length=320)],
    note: Annotated[str | None, Body(embed=True, max_length=2000)] = None,
) -> dict[str, Any]:
    if principal.provider_id is None:
        raise HTTPException(403, "only a provider can ask to change its own contact")
    try:
        req = provider_answers.request_contact(
            session, principal.provider_id, email, note, actor=principal.actor, now=svc.clock.now()
        )
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from exc
    return disclose("feed_answer", {"request": req.id, "status": req.status}, principal)
