"""Portal pages. Each handler authenticates from the session cookie, is admitted by the
disclosure policy (:data:`hostwatch.web.disclosure.PORTAL_PAGES`), narrows and shows records
through it and renders a template; every POST form carries the CSRF token."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request, Response
from fastapi.responses import RedirectResponse
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader
from sqlalchemy import select
from sqlalchemy.orm import Session

from hostwatch.attribution.watchlist import alerts
from hostwatch.metrics.takedown import quantile_text
from hostwatch.model import Case, Provider, ProviderAsset
from hostwatch.model.audit_heads import optional_key
from hostwatch.model.db import lock_row
from hostwatch.model.service import WatchlistEntry
from hostwatch.takedown import provider_answers
from hostwatch.web.api.cases import case_query
from hostwatch.web.auth import (
    SESSION_HOURS,
    AuthError,
    Principal,
    close_portal_session,
    open_portal_session,
)
from hostwatch.web.deps import (
    SESSION_COOKIE,
    Service,
    WriteDB,
    db,
    portal_session_principal,
    service,
)
from hostwatch.web.disclosure import (
    PORTAL_PAGES,
    disclose,
    may_call,
    provider_filter,
    sees_identifiers,
    visible_case,
)
from hostwatch.web.dossier import build_dossier, dossier_pdf, providers_missing_deadlines
from hostwatch.web.feed import feed_atom, feed_cases, feed_csv, provider_principal
from hostwatch.web.rows import case_row, provider_row
from hostwatch.web.security import (
    CSRF_COOKIE,
    check_csrf,
    client_ip,
    enforce,
    new_csrf_token,
)
from hostwatch.web.stats import provider_figures
from hostwatch.web.timeline import timeline_rows

TEMPLATES = Path(__file__).parent / "templates"
env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True)
env.globals["quantile"] = quantile_text
templates = Jinja2Templates(env=env)
router = APIRouter(include_in_schema=False)
PAGE = 100
HOME = {
    "admin": "/queue",
    "analyst": "/queue",
    "provider": "/feed",
    "regulator": "/dossiers",
    "researcher": "/providers",
}


class LoginRequired(Exception):
    """No valid session cookie: the handler in app.py sends the browser to /login."""


async def portal_principal(request: Request) -> Principal:
    try:
        return await portal_session_principal(request)
    except AuthError as exc:
        raise LoginRequired from exc


async def page_viewer(
    request: Request, principal: Annotated[Principal, Depends(portal_principal)]
) -> Principal:
    """The session's principal, if the disclosure policy lets its role open the matched page."""
    path = getattr(request.scope.get("route"), "path", "")
    if not may_call(PORTAL_PAGES, request.method, path, principal.role):
        raise HTTPException(403, f"role {principal.role!r} may not open this page")
    return principal


Viewer = Annotated[Principal, Depends(page_viewer)]
DB = Annotated[Session, Depends(db)]
Svc = Annotated[Service, Depends(service)]


def render(
    request: Request, name: str, context: dict[str, Any], status_code: int = 200
) -> Response:
    """Render with the CSRF token every form needs, setting its cookie when it is new."""
    token = request.cookies.get(CSRF_COOKIE) or new_csrf_token()
    principal = getattr(request.state, "principal", None)
    response = templates.TemplateResponse(
        request, name, {"csrf": token, "me": principal, **context}, status_code=status_code
    )
    if request.cookies.get(CSRF_COOKIE) != token:
        response.set_cookie(
            CSRF_COOKIE,
            token,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
    return response


def back(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


@router.get("/")
async def home(request: Request) -> Response:
    try:
        principal = await portal_principal(request)
    except LoginRequired:
        return back("/login")
    return back(HOME[principal.role])


@router.get("/login")
def login_page(request: Request) -> Response:
    return render(request, "login.html", {})


@router.post("/login")
def login(
    request: Request,
    session: WriteDB,
    svc: Svc,
    token: Annotated[str, Form(max_length=200)],
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """Exchange a token for a new server-side session; the cookie holds only its random id."""
    check_csrf(request, csrf)
    enforce(request.app.state.login_limit, client_ip(request), session)
    try:
        session_id, principal = open_portal_session(
            session, token.strip(), svc.clock.now(), replaces=request.cookies.get(SESSION_COOKIE)
        )
    except AuthError:
        return render(request, "login.html", {"error": "Unknown, expired or revoked token."}, 401)
    response = back(HOME[principal.role])
    response.set_cookie(
        SESSION_COOKIE,
        session_id,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        max_age=SESSION_HOURS * 3600,
    )
    return response


@router.post("/logout")
def logout(
    request: Request,
    session: WriteDB,
    svc: Svc,
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """Close the session in the database (every worker), then drop the cookie."""
    check_csrf(request, csrf)
    session_id = request.cookies.get(SESSION_COOKIE)
    if session_id:
        close_portal_session(session, session_id, svc.clock.now())
    response = back("/login")
    response.delete_cookie(
        SESSION_COOKIE, httponly=True, samesite="strict", secure=request.url.scheme == "https"
    )
    return response


def _aware_date(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise HTTPException(400, "dates look like 2024-03-01") from exc
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


@router.get("/queue")
def queue(
    request: Request,
    principal: Viewer,
    session: DB,
    state: str | None = None,
    provider: str | None = None,
    q: str | None = None,
    since: str | None = None,
    cursor: int | None = None,
) -> Response:
    query = case_query(
        session,
        principal,
        state=state or None,
        provider=provider or None,
        url_contains=q or None,
        opened_since=_aware_date(since),
    )
    if cursor:
        query = query.where(Case.id > cursor)
    rows = session.execute(query.order_by(Case.id).limit(PAGE + 1)).all()
    more = len(rows) > PAGE
    rows = rows[:PAGE]
    items = [
        disclose("case", case_row(c, u, n, identifiers=True, pseudonym_key=""), principal)
        for c, u, n in rows
    ]
    filters = {"state": state or "", "provider": provider or "", "q": q or "", "since": since or ""}
    return render(
        request,
        "queue.html",
        {
            "items": items,
            "filters": filters,
            "next_cursor": items[-1]["id"] if more and items else None,
        },
    )


@router.get("/cases/{case_id}")
def case_page(case_id: int, request: Request, principal: Viewer, session: DB) -> Response:
    row = session.execute(case_query(session, principal).where(Case.id == case_id)).first()
    if row is None:
        raise HTTPException(404, "no such case")
    case, url, name = row
    shown = case_row(case, url, name, identifiers=True, pseudonym_key="")
    return render(
        request,
        "case.html",
        {
            "case": disclose("case", shown, principal),
            "events": timeline_rows(session, case, principal),
        },
    )


@router.get("/providers")
def providers_page(request: Request, principal: Viewer, session: DB, svc: Svc) -> Response:
    stats = provider_figures(
        session,
        svc.clock.now(),
        offline_after=svc.settings.offline_after,
        where=provider_filter(principal),
    )
    return render(request, "providers.html", {"stats": stats})


def _monthly(session: Session, provider_id: int, now: datetime) -> list[dict[str, Any]]:
    start = (now - timedelta(days=365)).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    opened: Counter[str] = Counter()
    removed: Counter[str] = Counter()
    for opened_at, removed_at in session.execute(
        select(Case.opened_at, Case.removed_at).where(
            Case.provider_id == provider_id, Case.opened_at >= start
        )
    ):
        opened[f"{opened_at:%Y-%m}"] += 1
        if removed_at is not None:
            removed[f"{removed_at:%Y-%m}"] += 1
    months = []
    cursor = start
    while cursor <= now:
        months.append(f"{cursor:%Y-%m}")
        cursor = (cursor + timedelta(days=32)).replace(day=1)
    peak = max([1, *opened.values(), *removed.values()])
    return [
        {
            "month": m,
            "opened": opened[m],
            "removed": removed[m],
            "h_opened": round(120 * opened[m] / peak, 1),
            "h_removed": round(120 * removed[m] / peak, 1),
        }
        for m in months
    ]


@router.get("/providers/{provider_id}")
def provider_page(
    provider_id: int, request: Request, principal: Viewer, session: DB, svc: Svc
) -> Response:
    provider = session.scalar(
        select(Provider).where(Provider.id == provider_id, provider_filter(principal))
    )
    if provider is None:
        raise HTTPException(404, "no such provider")
    now = svc.clock.now()
    stats = next(
        iter(
            provider_figures(
                session,
                now,
                offline_after=svc.settings.offline_after,
                where=Provider.id == provider_id,
            )
        ),
        None,
    )
    assets = session.scalars(
        select(ProviderAsset)
        .where(ProviderAsset.provider_id == provider_id)
        .order_by(ProviderAsset.kind, ProviderAsset.value)
    ).all()
    shown = provider_row(provider)
    shown["assets"] = [
        {"kind": a.kind, "value": a.value, "standing": a.standing, "provenance": a.provenance}
        for a in assets
    ]
    recent = []
    if sees_identifiers(principal):
        rows = session.execute(
            case_query(session, principal, provider_id=provider_id)
            .order_by(Case.id.desc())
            .limit(20)
        ).all()
        recent = [
            disclose("case", case_row(c, u, n, identifiers=True, pseudonym_key=""), principal)
            for c, u, n in rows
        ]
    return render(
        request,
        "provider.html",
        {
            "provider": disclose("provider", shown, principal),
            "stats": stats,
            "recent": recent,
            "months": _monthly(session, provider_id, now),
        },
    )


@router.get("/feed")
def feed_page(
    request: Request,
    principal: Viewer,
    session: DB,
    svc: Svc,
    provider_id: int | None = None,
    done: str | None = None,
) -> Response:
    who = provider_principal(principal, provider_id)
    provider = session.get(Provider, who.provider_id)
    if provider is None:
        raise HTTPException(404, "no such provider")
    rows = feed_cases(session, who, svc.clock.now())
    query = f"?provider_id={who.provider_id}" if principal.role != "provider" else ""
    return render(
        request,
        "feed.html",
        {
            "provider": provider,
            "items": rows,
            "flash": done,
            "query": query,
            "can_act": principal.role == "provider",
        },
    )


@router.get("/feed.csv")
def feed_page_csv(
    principal: Viewer, session: DB, svc: Svc, provider_id: int | None = None
) -> Response:
    who = provider_principal(principal, provider_id)
    return Response(
        feed_csv(feed_cases(session, who, svc.clock.now())),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="hostwatch-feed.csv"'},
    )


@router.get("/feed.atom")
def feed_page_atom(
    request: Request, principal: Viewer, session: DB, svc: Svc, provider_id: int | None = None
) -> Response:
    who = provider_principal(principal, provider_id)
    provider = session.get(Provider, who.provider_id)
    if provider is None:
        raise HTTPException(404, "no such provider")
    now = svc.clock.now()
    body = feed_atom(
        feed_cases(session, who, now), provider.name, provider.id, now, str(request.url)
    )
    return Response(body, media_type="application/atom+xml; charset=utf-8")


@router.post("/feed/cases/{case_id}/{action}")
def feed_action(
    case_id: int,
    action: str,
    request: Request,
    principal: Viewer,
    session: WriteDB,
    svc: Svc,
    csrf: Annotated[str, Form(max_length=100)] = "",
    note: Annotated[str | None, Form(max_length=2000)] = None,
) -> Response:
    check_csrf(request, csrf)
    if action not in ("ack", "resolve"):
        raise HTTPException(404, "unknown action")
    lock_row(session, Case, case_id)
    case = visible_case(session, principal, case_id)
    if case is None:
        raise HTTPException(404, "no such case")
    now = svc.clock.now()
    if action == "ack":
        provider_answers.acknowledge(session, case, actor=principal.actor, now=now)
    else:
        provider_answers.mark_resolved(session, case, actor=principal.actor, now=now, note=note)
    return back(f"/feed?done={action}")


@router.post("/feed/contact")
def feed_contact(
    request: Request,
    principal: Viewer,
    session: WriteDB,
    svc: Svc,
    email: Annotated[str, Form(max_length=320)],
    csrf: Annotated[str, Form(max_length=100)] = "",
    note: Annotated[str | None, Form(max_length=2000)] = None,
) -> Response:
    check_csrf(request, csrf)
    if principal.provider_id is None:
        raise HTTPException(403, "only a provider can ask to change its own contact")
    try:
        provider_answers.request_contact(
            session, principal.provider_id, email, note, actor=principal.actor, now=svc.clock.now()
        )
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from exc
    return back("/feed?done=contact")


@router.get("/contact-requests")
def contact_requests_page(request: Request, principal: Viewer, session: DB) -> Response:
    requests = provider_answers.pending_requests(session)
    return render(request, "contact_requests.html", {"requests": requests})


@router.post("/contact-requests/{request_id}/{decision}")
def contact_request_decision(
    request_id: int,
    decision: str,
    request: Request,
    principal: Viewer,
    session: WriteDB,
    svc: Svc,
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    check_csrf(request, csrf)
    if decision not in ("confirm", "reject"):
        raise HTTPException(404, "unknown decision")
    try:
        provider_answers.decide(
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
    return back("/contact-requests")


@router.get("/dossiers")
def dossiers_page(request: Request, principal: Viewer, session: DB, svc: Svc) -> Response:
    return render(
        request,
        "dossiers.html",
        {
            "stats": providers_missing_deadlines(
                session, svc.clock.now(), offline_after=svc.settings.offline_after
            )
        },
    )


def _dossier(session: Session, provider_id: int, svc: Service) -> Any:
    try:
        key = optional_key(svc.settings.audit_key_file)
        return build_dossier(
            session, provider_id, svc.clock.now(), key, offline_after=svc.settings.offline_after
        )
    except LookupError as exc:
        raise HTTPException(404, str(exc)) from exc


@router.get("/dossiers/{provider_id:int}")
def dossier_page(
    provider_id: int, request: Request, principal: Viewer, session: DB, svc: Svc
) -> Response:
    dossier = _dossier(session, provider_id, svc)
    return render(request, "dossier.html", {"d": dossier.as_dict()})


@router.get("/dossiers/{provider_id}.pdf")
def dossier_pdf_page(
    provider_id: int, request: Request, principal: Viewer, session: DB, svc: Svc
) -> Response:
    dossier = _dossier(session, provider_id, svc)
    html = env.get_template("dossier_pdf.html").render(d=dossier.as_dict())
    return Response(
        dossier_pdf(html),
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="dossier-provider-{provider_id}.pdf"'
        },
    )


@router.get("/watchlist")
def watchlist_page(request: Request, principal: Viewer, session: DB) -> Response:
    entries = session.scalars(select(WatchlistEntry).order_by(WatchlistEntry.id)).all()
    return render(request, "watchlist.html", {"entries": entries, "alerts": alerts(session)})


@router.get("/docs")
def docs_page(request: Request) -> Response:
    schema = request.app.openapi()
    paths = [
        {
            "path": path,
            "method": method.upper(),
            "summary": op.get("summary", ""),
            "params": [p["name"] for p in op.get("parameters", [])],
        }
        for path, ops in schema.get("paths", {}).items()
        for method, op in ops.items()
    ]
    return render(request, "docs.html", {"paths": paths, "title": schema["info"]["title"]})
