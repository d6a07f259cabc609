"""Staff endpoints of triage before notice: the queue, and the analysts' verdicts."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from hostwatch.takedown.triage import Decision, TriageError, decide, pending
from hostwatch.web.api.common import MAX_LIMIT, Caller, json_response
from hostwatch.web.auth import Principal
from hostwatch.web.deps import Service, WriteDB, db, service

router = APIRouter(tags=["staff"])


def analyst_name(principal: Principal) -> str:
    """Who decided, for the verdict record and the audit log: the token's label and its actor."""
    if principal.label:
        return f"{principal.label} ({principal.actor})"[:100]
    return principal.actor


class Verdict(BaseModel):
    cases: list[int] = Field(min_length=1, max_length=1000)
    verdict: Literal["illegal", "not-illegal", "not-reachable"]
    classification: str | None = Field(None, max_length=64)
    legal_basis: str | None = Field(None, max_length=2000)


@router.get("/triage", summary="Cases whose notices wait for an analyst's verdict, oldest first")
def triage_queue(
    request: Request,
    _: Caller,
    session: Annotated[Session, Depends(db)],
    svc: Annotated[Service, Depends(service)],
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 1000,
) -> Response:
    items = pending(session, svc.clock.now(), limit=limit)
    return json_response(request, [item.as_dict() for item in items])


@router.post("/triage/verdicts", summary="One verdict for one or many waiting cases, all or none")
def triage_verdict(
    body: Verdict,
    principal: Caller,
    session: WriteDB,
    svc: Annotated[Service, Depends(service)],
) -> dict[str, Any]:
    try:
        decision = Decision(body.verdict, body.classification, body.legal_basis).checked()
    except TriageError as exc:
        raise HTTPException(422, str(exc)) from exc
    try:
        cases = decide(
            session, body.cases, decision, analyst=analyst_name(principal), now=svc.clock.now()
        )
    except TriageError as exc:
        raise HTTPException(409, str(exc)) from exc
    return {
        "verdict": body.verdict,
        "cases": [{"case_id": case.id, "state": case.state} for case in cases],
    }
