"""Cases: the list a token may see, one case, and its timeline."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import InstrumentedAttribute

from hostwatch.model import Case, Provider, Url
from hostwatch.model.case import CASE_STATES
from hostwatch.takedown.provider_feed import PROVIDER_STATES
from hostwatch.web.api.common import Caller, Paging, json_document, json_response, trim
from hostwatch.web.auth import Principal
from hostwatch.web.deps import Service, db, service
from hostwatch.web.disclosure import (
    PROVIDER_REFUSED_FILTERS,
    case_filter,
    disclose,
    provider_states,
    sees_identifiers,
    visible_case,
)
from hostwatch.web.rows import CASE_COLUMNS, case_rows
from hostwatch.web.timeline import timeline_rows

router = APIRouter(prefix="/cases", tags=["cases"])
PROVIDER_STATE_NAMES = tuple(PROVIDER_STATES.values())


def case_query(
    session: Session,
    principal: Principal,
    *,
    state: str | None = None,
    provider_id: int | None = None,
    provider: str | None = None,
    country: str | None = None,
    classification: str | None = None,
    opened_since: datetime | None = None,
    opened_until: datetime | None = None,
    url_contains: str | None = None,
    held: bool | None = None,
    columns: Sequence[type[Case] | InstrumentedAttribute[Any] | ColumnElement[Any]] = (
        Case,
        Url.url,
        Provider.name,
    ),
) -> Select[Any]:
    """Cases visible to the principal, joined with URL and provider name, filters applied.

    ``columns`` is what each row holds: by default (case, URL, provider name); the API's lists
    ask for :data:`hostwatch.web.rows.CASE_COLUMNS`, plain values without ORM objects.
    A provider may not filter by provider or hold (:data:`PROVIDER_REFUSED_FILTERS`), and names
    states as it sees them: either would let it probe for other parties.
    """
    if principal.role == "provider":
        given = {"provider_id": provider_id, "provider": provider, "held": held}
        refused = sorted(k for k in PROVIDER_REFUSED_FILTERS if given[k] is not None)
        if refused:
            raise HTTPException(403, f"a provider may not filter by {', '.join(refused)}")
    query = (
        select(*columns)
        .select_from(Case)
        .join(Url, Url.id == Case.url_id)
        .outerjoin(Provider, Provider.id == Case.provider_id)
        .where(case_filter(session, principal))
    )
    if state is not None:
        if state not in (*CASE_STATES, *PROVIDER_STATE_NAMES) and state != "open":
            raise HTTPException(400, f"unknown state; one of {', '.join(CASE_STATES)} or open")
        if state == "open":
            query = query.where(Case.state.not_in(("removed", "closed")))
        elif principal.role == "provider":
            query = query.where(Case.state.in_(provider_states(state)))
        else:
            query = query.where(Case.state == state)
    if provider_id is not None:
        query = query.where(Case.provider_id == provider_id)
    if provider is not None:
        query = query.where(Provider.name == provider)
    if country is not None:
        query = query.where(Case.country == country.upper())
    if classification is not None:
        query = query.where(Case.classification == classification)
    if opened_since is not None:
        query = query.where(Case.opened_at >= opened_since)
    if opened_until is not None:
        query = query.where(Case.opened_at < opened_until)
    if held is not None:
        query = query.where(Case.held.is_(held))
    if url_contains:
        if not sees_identifiers(principal):
            raise HTTPException(403, "this role may not search by URL")
        query = query.where(Url.url.contains(url_contains, autoescape=True))
    return query


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise HTTPException(400, "give times with a zone, e.g. 2024-03-01T00:00:00Z")
    return value


@router.get("", summary="Cases this token may see (a JSON list; paging in headers)")
async def list_cases(
    request: Request,
    page: Paging,
    principal: Caller,
    svc: Annotated[Service, Depends(service)],
    state: Annotated[str | None, Query(max_length=20)] = None,
    provider_id: int | None = None,
    provider: Annotated[str | None, Query(max_length=300)] = None,
    country: Annotated[str | None, Query(max_length=2)] = None,
    classification: Annotated[str | None, Query(max_length=64)] = None,
    opened_since: datetime | None = None,
    opened_until: datetime | None = None,
    url_contains: Annotated[str | None, Query(max_length=500)] = None,
    held: bool | None = None,
) -> Response:
    filters = dict(
        state=state,
        provider_id=provider_id,
        provider=provider,
        country=country,
        classification=classification,
        opened_since=_aware(opened_since),
        opened_until=_aware(opened_until),
        url_contains=url_contains,
        held=held,
    )

    def compute(session: Session) -> tuple[Response, None]:
        query = case_query(session, principal, columns=CASE_COLUMNS, **filters)
        if page.after is not None:
            query = query.where(Case.id > page.after)
        rows, more = trim(
            session.execute(query.order_by(Case.id).limit(page.limit + 1)).all(), page
        )
        shown = case_rows(
            rows, identifiers=sees_identifiers(principal), pseudonym_key=svc.settings.pseudonym_key
        )
        items = [disclose("case", row, principal) for row in shown]
        return json_document(request, items, next_cursor=rows[-1].id if more else None), None

    return await svc.reads.answer(request, principal, svc.clock.now(), compute)


@router.get("/{case_id}", summary="One case")
def get_case(
    case_id: int,
    request: Request,
    principal: Caller,
    session: Annotated[Session, Depends(db)],
    svc: Annotated[Service, Depends(service)],
) -> Response:
    query = case_query(session, principal, columns=CASE_COLUMNS).where(Case.id == case_id)
    rows = case_rows(
        session.execute(query).all(),
        identifiers=sees_identifiers(principal),
        pseudonym_key=svc.settings.pseudonym_key,
    )
    if not rows:
        raise HTTPException(404, "no such case")
    return json_response(request, disclose("case", rows[0], principal))


@router.get("/{case_id}/timeline", summary="Notices, messages, checks and audit events of a case")
def get_timeline(
    case_id: int,
    request: Request,
    principal: Caller,
    session: Annotated[Session, Depends(db)],
) -> Response:
    case = visible_case(session, principal, case_id)
    if case is None:
        raise HTTPException(404, "no such case")
    return json_response(request, timeline_rows(session, case, principal))
