"""Providers, their verified assets and their figures.

Every figure comes from :mod:`hostwatch.metrics` (the one definition); these routes parse the
period, call one function and return its document, as the disclosure policy lets the caller see
it.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from hostwatch.metrics.period import Period, parse_period, period_between
from hostwatch.metrics.quality import load_quality
from hostwatch.metrics.reachability import load_reachability
from hostwatch.metrics.takedown import load_takedown_report
from hostwatch.model import Provider, ProviderAsset
from hostwatch.web.api.common import Caller, Paging, json_response, trim
from hostwatch.web.deps import Service, db, service
from hostwatch.web.disclosure import disclose, disclose_all, provider_filter, takedown_report_view
from hostwatch.web.rows import provider_row

router = APIRouter(tags=["providers"])


@router.get("/providers", summary="Providers (a provider token sees only itself)")
def list_providers(
    request: Request,
    page: Paging,
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


def _period(period: str | None) -> Period:
    """The period a metrics route was asked for (all data when omitted); 422 when unreadable."""
    if period is None:
        return period_between(None, None)
    try:
        return parse_period(period)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from exc


PeriodQuery = Annotated[
    str | None, Query(max_length=60, description="2024, 2024Q1 or FROM..TO; default all data")
]


@router.get(
    "/metrics/providers",
    summary="Time to takedown per provider (the same document as /metrics/takedown?by=provider)",
)
def metrics_providers(
    request: Request,
    principal: Caller,
    session: Annotated[Session, Depends(db)],
    svc: Annotated[Service, Depends(service)],
    period: PeriodQuery = None,
) -> Response:
    """A provider token gets the document of its own episodes only."""
    names = None
    if principal.role == "provider":
        names = list(session.scalars(select(Provider.name).where(provider_filter(principal))))
    report = load_takedown_report(
        svc.settings.database_url,
        _period(period),
        by="provider",
        offline_after=svc.settings.offline_after,
        providers=names,
    )
    return json_response(request, report)


@router.get("/metrics/takedown", summary="Time to takedown against the 24 h norm (censored)")
def metrics_takedown(
    request: Request,
    principal: Caller,
    svc: Annotated[Service, Depends(service)],
    period: Annotated[str, Query(max_length=60, description="2024, 2024Q1 or FROM..TO")],
    by: Annotated[str, Query(pattern="^(provider|reseller|asn|country)$")] = "provider",
) -> Response:
    """The measurement layer's report (:func:`hostwatch.metrics.takedown.takedown_report`)."""
    report = load_takedown_report(
        svc.settings.database_url, _period(period), by=by, offline_after=svc.settings.offline_after
    )
    return json_response(
        request, takedown_report_view(report, principal, svc.settings.pseudonym_key)
    )


@router.get("/metrics/quality", summary="Data quality of the figures (hostwatch metrics quality)")
def metrics_quality(
    request: Request,
    principal: Caller,
    svc: Annotated[Service, Depends(service)],
    period: PeriodQuery = None,
) -> Response:
    """:func:`hostwatch.metrics.quality.load_quality`: aggregates only, no URL, host or IP."""
    doc = load_quality(
        svc.settings.database_url,
        _period(period),
        offline_after=svc.settings.offline_after,
        now=svc.clock.now(),
    )
    return json_response(request, doc)


@router.get(
    "/metrics/reachability",
    summary="Reachability of abuse desks per provider (hostwatch metrics reachability)",
)
def metrics_reachability(
    request: Request,
    principal: Caller,
    svc: Annotated[Service, Depends(service)],
    period: PeriodQuery = None,
) -> Response:
    """:func:`hostwatch.metrics.reachability.reachability`: counts per provider, no address."""
    return json_response(request, load_reachability(svc.settings.database_url, _period(period)))
