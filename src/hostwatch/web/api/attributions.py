"""Attributions: who hosted a URL at a time (pseudonymised for researchers)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from hostwatch.model import Attribution, Provider, Url
from hostwatch.web.api.common import Caller, Paging, json_response, trim
from hostwatch.web.deps import Service, db, service
from hostwatch.web.disclosure import attribution_filter, disclose, sees_identifiers
from hostwatch.web.rows import attribution_row

router = APIRouter(prefix="/attributions", tags=["attributions"])


@router.get("", summary="Attributions this token may see")
def list_attributions(
    request: Request,
    page: Paging,
    principal: Caller,
    session: Annotated[Session, Depends(db)],
    svc: Annotated[Service, Depends(service)],
    asn: int | None = None,
    provider_id: int | None = None,
    country: Annotated[str | None, Query(max_length=2)] = None,
    status: Annotated[str | None, Query(max_length=32)] = None,
) -> Response:
    query = (
        select(Attribution, Url.url, Provider.name)
        .join(Url, Url.id == Attribution.url_id)
        .outerjoin(Provider, Provider.id == Attribution.provider_id)
        .where(attribution_filter(session, principal))
    )
    if asn is not None:
        query = query.where(Attribution.origin_asn == asn)
    if provider_id is not None:
        query = query.where(Attribution.provider_id == provider_id)
    if country is not None:
        query = query.where(Attribution.country == country.upper())
    if status is not None:
        query = query.where(Attribution.status == status)
    if page.after is not None:
        query = query.where(Attribution.id > page.after)
    rows = session.execute(query.order_by(Attribution.id).limit(page.limit + 1)).all()
    rows, more = trim(rows, page)
    identifiers = sees_identifiers(principal)
    key = svc.settings.pseudonym_key
    items = [
        disclose(
            "attribution",
            attribution_row(a, url, name, identifiers=identifiers, pseudonym_key=key),
            principal,
        )
        | _in_time(a)
        for a, url, name in rows
    ]
    return json_response(request, items, next_cursor=rows[-1][0].id if more else None)


def _in_time(attribution: Attribution) -> dict[str, Any]:
    """Where the address came from and how far each snapshot lies from the notice's time."""
    return {
        "ip_origin": attribution.ip_origin,
        "stale": attribution.stale,
        "stale_reason": attribution.stale_reason,
        "offsets": (attribution.sources or {}).get("offsets"),
    }
