"""Portal pages of the regulator's desk: orders, a provider's answer to them, the scorecard, and
the public register. Each handler authenticates, calls one function of the enforcement layer (or
the scorecard) and renders; every form carries the CSRF token."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request, Response
from sqlalchemy.orm import Session

from hostwatch.enforcement.orders import OrderError, respond, view_orders
from hostwatch.enforcement.register import public_register
from hostwatch.web.deps import Service, WriteDB, db, service
from hostwatch.web.disclosure import confined_to
from hostwatch.web.portal.routes import Viewer, back, render
from hostwatch.web.scorecard import scorecard_view
from hostwatch.web.security import check_csrf

router = APIRouter(include_in_schema=False)
DB = Annotated[Session, Depends(db)]
Svc = Annotated[Service, Depends(service)]


@router.get("/orders")
def orders_page(request: Request, me: Viewer, session: DB, svc: Svc) -> Response:
    views = view_orders(
        session,
        now=svc.clock.now(),
        offline_after=svc.settings.offline_after,
        provider_id=confined_to(me),
    )
    return render(request, "orders.html", {"orders": views})


@router.get("/orders/{reference}")
def order_page(reference: str, request: Request, me: Viewer, session: DB, svc: Svc) -> Response:
    views = view_orders(
        session,
        now=svc.clock.now(),
        offline_after=svc.settings.offline_after,
        provider_id=confined_to(me),
        reference=reference,
    )
    if not views:
        raise HTTPException(404, "no such order")
    return render(request, "order.html", {"order": views[0]})


@router.post("/orders/{reference}/{kind}")
def order_answer(
    reference: str,
    kind: str,
    request: Request,
    me: Viewer,
    session: WriteDB,
    svc: Svc,
    text: Annotated[str, Form(max_length=4000)] = "",
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    check_csrf(request, csrf)
    if kind not in ("acknowledge", "objection"):
        raise HTTPException(404, "no such action")
    try:
        respond(
            session,
            reference,
            kind="acknowledged" if kind == "acknowledge" else "objection",
            text=text or None,
            provider_id=me.provider_id,
            now=svc.clock.now(),
            actor=me.actor,
        )
    except OrderError as exc:
        if str(exc).startswith("no order"):
            raise HTTPException(404, "no such order") from exc
        raise HTTPException(422, str(exc)) from exc
    return back(f"/orders/{reference}")


@router.get("/scorecards/{provider_id}")
def scorecard_page(
    provider_id: int,
    request: Request,
    me: Viewer,
    session: DB,
    svc: Svc,
    period: str = "",
) -> Response:
    card = scorecard_view(session, svc, me, provider_id, period)
    return render(request, "scorecard.html", {"card": card})


@router.get("/register")
def register_page(request: Request, session: DB) -> Response:
    """Public: no login. Names providers and sanctions, never a location."""
    return render(request, "register.html", {"entries": public_register(session)})
