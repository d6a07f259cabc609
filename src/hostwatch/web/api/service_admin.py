"""Staff endpoints: contact requests, the watchlist and its alerts, audit verification, dossiers."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from hostwatch.attribution.watchlist import alerts
from hostwatch.model.audit_heads import optional_key
from hostwatch.model.service import WatchlistEntry
from hostwatch.takedown.provider_answers import decide, pending_requests
from hostwatch.web.api.common import Caller, json_response
from hostwatch.web.deps import Service, WriteDB, db, service
from hostwatch.web.dossier import build_dossier, chain_head, providers_missing_deadlines
from hostwatch.web.rows import iso

router = APIRouter(tags=["staff"])


@router.get("/contact-requests", summary="Pending abuse-contact changes asked by providers")
def list_contact_requests(
    request: Request, _: Caller, session: Annotated[Session, Depends(db)]
) -> Response:
    return json_response(
        request,
        [
            {
                "id": r.id,
                "provider_id": r.provider_id,
                "provider": name,
                "email": r.email,
                "note": r.note,
                "requested_at": iso(r.requested_at),
            }
            for r, name in pending_requests(session)
        ],
    )


@router.post("/contact-requests/{request_id}/{decision}", summary="confirm or reject")
def decide_contact_request(
    request_id: int,
    decision: str,
    principal: Caller,
    session: WriteDB,
    svc: Annotated[Service, Depends(service)],
) -> dict[str, Any]:
    if decision not in ("confirm", "reject"):
        raise HTTPException(404, "decision must be confirm or reject")
    try:
        req = decide(
            session,
            request_id,
            confirm=decision == "confirm",
            actor=principal.actor,
            now=svc.clock.now(),
        )
    except LookupError as exc:
        raise HTTPException(404, str(exc)) from exc
    except ValueError as exc:
        raise HTTPException(409, str(exc)) from exc
    return {"id": req.id, "status": req.status}


@router.get("/watchlist", summary="Watchlist entries")
def list_watchlist(
    request: Request, _: Caller, session: Annotated[Session, Depends(db)]
) -> Response:
    rows = session.scalars(select(WatchlistEntry).order_by(WatchlistEntry.id))
    return json_response(
        request,
        [
            {"id": e.id, "list": e.list_name, "kind": e.kind, "value": e.value, "note": e.note}
            for e in rows
        ],
    )


@router.get("/watchlist/alerts", summary="Attributions that matched the watchlist")
def list_alerts(request: Request, _: Caller, session: Annotated[Session, Depends(db)]) -> Response:
    return json_response(
        request,
        [
            {
                "audit_id": e.id,
                "at": iso(e.at),
                "attribution_id": int(e.object_id),
                **(e.data or {}),
            }
            for e in alerts(session)
        ],
    )


@router.get("/audit/verify", summary="Re-verify the audit-log hash chain")
def audit_verify(request: Request, _: Caller, session: Annotated[Session, Depends(db)]) -> Response:
    return json_response(request, chain_head(session).as_dict())


@router.get("/dossiers", summary="Providers that missed the 24-hour norm")
def list_dossiers(
    request: Request,
    _: Caller,
    session: Annotated[Session, Depends(db)],
    svc: Annotated[Service, Depends(service)],
) -> Response:
    missing = providers_missing_deadlines(
        session, svc.clock.now(), offline_after=svc.settings.offline_after
    )
    return json_response(request, missing)


@router.get("/dossiers/{provider_id}", summary="One provider's dossier as JSON")
def get_dossier(
    provider_id: int,
    request: Request,
    _: Caller,
    session: Annotated[Session, Depends(db)],
    svc: Annotated[Service, Depends(service)],
) -> Response:
    try:
        dossier = build_dossier(
            session,
            provider_id,
            svc.clock.now(),
            optional_key(svc.settings.audit_key_file),
            offline_after=svc.settings.offline_after,
        )
    except LookupError as exc:
        raise HTTPException(404, str(exc)) from exc
    return json_response(request, dossier.as_dict())
