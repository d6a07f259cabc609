"""The portal's triage page: the queue of reports no analyst has judged yet, with a verdict for
the cases the analyst selects. Each handler authenticates, calls one function of
:mod:`hostwatch.takedown.triage` and renders; the form carries the CSRF token.

The page shows the reported URL as text (never a link, never a preview), who reported it and what
the liveness checks saw: an analyst views material only in the hotline's own secured environment.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request, Response
from sqlalchemy.orm import Session

from hostwatch.takedown.compose import display_url
from hostwatch.takedown.triage import VERDICTS, Decision, TriageError, decide, pending
from hostwatch.web.api.triage import analyst_name
from hostwatch.web.deps import Service, WriteDB, db, service
from hostwatch.web.portal.routes import Viewer, back, render
from hostwatch.web.security import check_csrf

router = APIRouter(include_in_schema=False)
DB = Annotated[Session, Depends(db)]
Svc = Annotated[Service, Depends(service)]
SHOWN = 500
CATEGORIES = ("csam", "terrorist-content", "phishing", "malware", "fraud")
"""Suggested in the form; an analyst may type another."""


def _page(
    request: Request,
    session: Session,
    svc: Service,
    *,
    done: str | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    items = pending(session, svc.clock.now(), limit=SHOWN)
    rows = [{**item.as_dict(), "shown_url": display_url(item.url)} for item in items]
    return render(
        request,
        "triage.html",
        {
            "items": rows,
            "verdicts": VERDICTS,
            "categories": CATEGORIES,
            "done": done,
            "error": error,
            "limit": SHOWN,
        },
        status_code=status_code,
    )


@router.get("/triage")
def triage_page(
    request: Request, me: Viewer, session: DB, svc: Svc, done: str | None = None
) -> Response:
    return _page(request, session, svc, done=done)


@router.post("/triage")
def triage_decide(
    request: Request,
    me: Viewer,
    session: WriteDB,
    svc: Svc,
    verdict: Annotated[str, Form(max_length=20)],
    case: Annotated[list[int] | None, Form()] = None,
    classification: Annotated[str | None, Form(max_length=64)] = None,
    legal_basis: Annotated[str | None, Form(max_length=2000)] = None,
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    check_csrf(request, csrf)
    if verdict not in VERDICTS:
        raise HTTPException(422, "unknown verdict")
    illegal = verdict == "illegal"
    decision = Decision(
        verdict, classification if illegal else None, legal_basis if illegal else None
    )
    try:
        decided = decide(
            session, case or [], decision, analyst=analyst_name(me), now=svc.clock.now()
        )
    except TriageError as exc:
        session.rollback()
        return _page(request, session, svc, error=str(exc), status_code=409)
    return back(f"/triage?done={len(decided)}+{verdict}")
