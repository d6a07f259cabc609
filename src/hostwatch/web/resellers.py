"""Know your resellers: the resellers and customers in a provider's own space, with their reported
URLs and takedown times (:mod:`hostwatch.metrics.provider_resellers`), in the provider feed (JSON)
and the portal. Staff may read any provider's view, as that provider sees it plus the watchlist
column; each row goes through the disclosure policy (record kind ``reseller_row``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from sqlalchemy.orm import Session

from hostwatch.metrics.provider_resellers import resellers_in_space
from hostwatch.model import Provider
from hostwatch.web.api.common import Caller, json_response
from hostwatch.web.auth import Principal
from hostwatch.web.deps import Service, db, service
from hostwatch.web.disclosure import disclose_all
from hostwatch.web.feed import provider_principal
from hostwatch.web.portal.routes import Viewer, render

router = APIRouter(prefix="/feed", tags=["provider feed"])
portal_router = APIRouter(include_in_schema=False)
DB = Annotated[Session, Depends(db)]
Svc = Annotated[Service, Depends(service)]


def reseller_rows(
    session: Session, principal: Principal, provider_id: int | None, svc: Service
) -> tuple[Provider, list[dict[str, Any]]]:
    """The provider asked for and its rows as ``principal`` may see them."""
    who = provider_principal(principal, provider_id)
    provider = session.get(Provider, who.provider_id)
    if provider is None:
        raise HTTPException(404, "no such provider")
    rows = resellers_in_space(
        session, provider.id, now=svc.clock.now(), offline_after=svc.settings.offline_after
    )
    return provider, disclose_all("reseller_row", rows, principal)


@router.get("/resellers", summary="Resellers and customers on the provider's networks (JSON)")
def resellers_json(
    request: Request, principal: Caller, session: DB, svc: Svc, provider_id: int | None = None
) -> Response:
    _, rows = reseller_rows(session, principal, provider_id, svc)
    return json_response(request, rows)


@portal_router.get("/feed/resellers")
def resellers_page(
    request: Request, me: Viewer, session: DB, svc: Svc, provider_id: int | None = None
) -> Response:
    provider, rows = reseller_rows(session, me, provider_id, svc)
    return render(
        request,
        "resellers.html",
        {"provider": provider, "rows": rows, "staff": me.role != "provider"},
    )
