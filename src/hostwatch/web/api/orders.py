"""Removal orders over the API: the regulator issues, a provider acknowledges or objects.

Only the regulator issues orders; an analyst may propose one from a case; a provider sees its own
orders and never another's (an order of another provider is "not found", not "forbidden", so its
existence does not leak). The public register of published decisions needs no token.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, HTTPException, Query, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from hostwatch.enforcement.deadlines import OrderPolicyError, load_order_policy
from hostwatch.enforcement.orders import (
    OrderError,
    issue_order,
    propose_order,
    respond,
    view_orders,
)
from hostwatch.enforcement.register import public_register
from hostwatch.web.api.common import Caller, json_response
from hostwatch.web.auth import Principal
from hostwatch.web.deps import Service, WriteDB, db, service
from hostwatch.web.disclosure import confined_to, disclose, disclose_all
from hostwatch.web.scorecard import scorecard_view

router = APIRouter(prefix="/orders", tags=["orders"])
register_router = APIRouter(tags=["register"])
scorecard_router = APIRouter(tags=["orders"])


class NewOrder(BaseModel):
    provider: str = Field(max_length=300)
    cases: list[int] = Field(min_length=1, max_length=1000)
    deadline_hours: float | None = Field(None, gt=0, le=720)
    basis: str | None = Field(None, max_length=2000)


@router.post("", status_code=201, summary="Issue a removal order (regulator)")
def create_order(
    body: NewOrder,
    principal: Caller,
    session: WriteDB,
    svc: Annotated[Service, Depends(service)],
) -> dict[str, Any]:
    try:
        order = issue_order(
            session,
            provider_name=body.provider,
            case_ids=body.cases,
            deadline_hours=body.deadline_hours,
            basis=body.basis,
            policy=load_order_policy(svc.settings.order_policy),
            settings=svc.settings,
            now=svc.clock.now(),
            actor=principal.actor,
        )
    except (OrderError, OrderPolicyError) as exc:
        raise HTTPException(422, str(exc)) from exc
    session.flush()
    view = view_orders(
        session,
        now=svc.clock.now(),
        offline_after=svc.settings.offline_after,
        reference=order.reference,
    )
    return disclose("order", view[0].as_json(), principal)


@router.get("", summary="Orders: the regulator's all, a provider's own")
def list_orders(
    request: Request,
    principal: Caller,
    session: Annotated[Session, Depends(db)],
    svc: Annotated[Service, Depends(service)],
) -> Response:
    views = view_orders(
        session,
        now=svc.clock.now(),
        offline_after=svc.settings.offline_after,
        provider_id=confined_to(principal),
    )
    return json_response(request, disclose_all("order", [v.as_json() for v in views], principal))


@router.get("/{reference}", summary="One order with each case's outcome")
def get_order(
    reference: str,
    request: Request,
    principal: Caller,
    session: Annotated[Session, Depends(db)],
    svc: Annotated[Service, Depends(service)],
) -> Response:
    views = view_orders(
        session,
        now=svc.clock.now(),
        offline_after=svc.settings.offline_after,
        provider_id=confined_to(principal),
        reference=reference,
    )
    if not views:
        raise HTTPException(404, "no such order")
    return json_response(request, disclose("order", views[0].as_json(), principal))


def _respond(
    kind: str,
    reference: str,
    text: str | None,
    principal: Principal,
    session: Session,
    svc: Service,
) -> dict[str, Any]:
    try:
        event = respond(
            session,
            reference,
            kind=kind,
            text=text,
            provider_id=principal.provider_id,
            now=svc.clock.now(),
            actor=principal.actor,
        )
    except OrderError as exc:
        status = 404 if str(exc).startswith("no order") else 422
        raise HTTPException(status, "no such order" if status == 404 else str(exc)) from exc
    answer = {"order": reference, kind: event.at.isoformat().replace("+00:00", "Z")}
    return disclose("order_answer", answer, principal)


@router.post("/{reference}/acknowledge", summary="Acknowledge receipt (provider)")
def acknowledge_order(
    reference: str,
    principal: Caller,
    session: WriteDB,
    svc: Annotated[Service, Depends(service)],
    note: Annotated[str | None, Body(embed=True, max_length=4000)] = None,
) -> dict[str, Any]:
    return _respond("acknowledged", reference, note, principal, session, svc)


@router.post("/{reference}/objection", summary="Object to an order, with grounds (provider)")
def object_order(
    reference: str,
    principal: Caller,
    session: WriteDB,
    svc: Annotated[Service, Depends(service)],
    grounds: Annotated[str, Body(embed=True, max_length=4000)],
) -> dict[str, Any]:
    return _respond("objection", reference, grounds, principal, session, svc)


@router.post("/proposals", status_code=201, summary="Propose an order for a case (analyst)")
def propose(
    principal: Caller,
    session: WriteDB,
    svc: Annotated[Service, Depends(service)],
    case_id: Annotated[int, Body(embed=True)],
    note: Annotated[str | None, Body(embed=True, max_length=2000)] = None,
) -> dict[str, Any]:
    try:
        proposal = propose_order(session, case_id, note, svc.clock.now(), principal.actor)
    except OrderError as exc:
        raise HTTPException(404, str(exc)) from exc
    return {"proposal": proposal.id, "case_id": case_id}


@scorecard_router.get("/scorecards/{provider_id}", summary="A provider's duty-of-care scorecard")
def get_scorecard(
    provider_id: int,
    request: Request,
    principal: Caller,
    session: Annotated[Session, Depends(db)],
    svc: Annotated[Service, Depends(service)],
    period: Annotated[str | None, Query(max_length=60)] = None,
) -> Response:
    card = scorecard_view(session, svc, principal, provider_id, period)
    return json_response(request, card)


@register_router.get("/register", summary="The public register of published decisions")
def register(request: Request, session: Annotated[Session, Depends(db)]) -> Response:
    return json_response(request, [e.as_json() for e in public_register(session)])
