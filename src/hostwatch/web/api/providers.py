"""Providers, their verified assets and their figures."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from hostwatch.model import Provider, ProviderAsset
from hostwatch.web.api.common import Caller, Page, json_response, trim
from hostwatch.web.deps import Service, db, service
from hostwatch.web.disclosure import disclose, disclose_all, provider_filter, takedown_report_view
from hostwatch.web.rows import provider_row
from hostwatch.web.stats import provider_stats

router = APIRouter(tags=["providers"])


@router.get("/providers", summary="Providers (a provider token sees only itself)")
def list_providers(
    request: Request,
    page: Annotated[Page, Depends()],
    principal: Caller,
    session: Annotated[Session, Depends(db)],
    name: Annotated[str | None, Query(max_length=300)] = None,
    country: Annotated[str | None, Query(max_length=2)] = None,
) -> Response:
    query = select(Provider).where(provider_filter(principal))
    if name is not None:
        query = query.where(Provider.name.contains(name, autoescape=True))
    if country is not None:
        query = query.where(Provider.country == country.upper())
    if page.after is not None:
        query = query.where(Provider.id > page.after)
    rows = list(session.scalars(query.order_by(Provider.id).limit(page.limit + 1)))
    rows, more = trim(rows, page)
    items = disclose_all("provider", [provider_row(p) for p in rows], principal)
    return json_response(request, items, next_cursor=rows[-1].id if more else None)


@router.get("/providers/{provider_id}", summary="One provider with its assets")
def get_provider(
    provider_id: int,
    request: Request,
    principal: Caller,
    session: Annotated[Session, Depends(db)],
) -> Response:
    provider = session.scalar(
        select(Provider).where(Provider.id == provider_id, provider_filter(principal))
    )
    if provider is None:
        raise HTTPException(404, "no such provider")
    assets = session.scalars(
        select(ProviderAsset)
        .where(ProviderAsset.provider_id == provider_id)
        .order_by(ProviderAsset.id)
    )
    body = provider_row(provider)
    body["assets"] = [
        {"kind": a.kind, "value": a.value, "standing": a.standing, "provenance": a.provenance}
        for a in assets
    ]
    return json_response(request, disclose("provider", body, principal))


@router.get("/metrics/providers", summary="Per-provider case figures (aggregates)")
def metrics_providers(
    request: Request,
    principal: Caller,
    session: Annotated[Session, Depends(db)],
    svc: Annotated[Service, Depends(service)],
) -> Response:
    stats = provider_stats(session, svc.clock.now(), provider_filter(principal))
    return json_response(
        request, disclose_all("provider_stats", [s.as_dict() for s in stats], principal)
    )


@router.get("/metrics/takedown", summary="Time to takedown against the 24 h norm (censored)")
def metrics_takedown(
    request: Request,
    principal: Caller,
    svc: Annotated[Service, Depends(service)],
    period: Annotated[str, Query(max_length=60, description="2024, 2024Q1 or FROM..TO")],
    by: Annotated[str, Query(pattern="^(provider|reseller|asn|country)$")] = "provider",
) -> Response:
    """The measurement layer's report (:func:`hostwatch.metrics.takedown.takedown_report`)."""
    from hostwatch.metrics.frame import load_frame
    from hostwatch.metrics.period import parse_period
    from hostwatch.metrics.takedown import takedown_report

    try:
        span = parse_period(period)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from exc
    frame = load_frame(svc.settings.database_url, span, offline_after=svc.settings.offline_after)
    report = takedown_report(frame, by)
    return json_response(
        request, takedown_report_view(report, principal, svc.settings.pseudonym_key)
    )
