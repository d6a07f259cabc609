"""Portal pages. Each handler authenticates from the session cookie, narrows through
:mod:`hostwatch.web.scope` and renders a template; every POST form carries the CSRF token."""

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

from hostwatch.model import Case, Provider, ProviderAsset
from hostwatch.model.db import lock_row
from hostwatch.model.service import WatchlistEntry
from hostwatch.web.api.cases import case_query
from hostwatch.web.auth import (
    SESSION_HOURS,
    AuthError,
    Principal,
    close_portal_session,
    open_portal_session,
)
from hostwatch.web.contact_requests import decide, pending_requests
from hostwatch.web.deps import (
    SESSION_COOKIE,
    Service,
    WriteDB,
    db,
    portal_session_principal,
    service,
)
from hostwatch.web.dossier import build_dossier, dossier_pdf, providers_missing_deadlines
from hostwatch.web.feed import (
    acknowledge,
    feed_atom,
    feed_cases,
    feed_csv,
    mark_resolved,
    provider_principal,
    request_contact,
)
from hostwatch.web.rows import case_row
from hostwatch.web.scope import provider_filter, sees_identifiers
from hostwatch.web.security import (
    CSRF_COOKIE,
    check_csrf,
    client_ip,
    enforce,
    new_csrf_token,
)
from hostwatch.web.stats import provider_stats
from hostwatch.web.timeline import case_timeline
from hostwatch.web.watchlist import alerts

TEMPLATES = Path(__file__).parent / "templates"
env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True)
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


def role(*roles: str) -> Any:
    async def check(principal: Annotated[Principal, Depends(portal_principal)]) -> Principal:
        if principal.role not in roles:
            raise HTTPException(403, f"role {principal.role!r} may not open this page")
        return principal

    return Depends(check)


Staff = Annotated[Principal, role("admin", "analyst")]
Oversight = Annotated[Principal, role("admin", "analyst", "regulator")]
Readers = Annotated[Principal, role("admin", "analyst", "regulator", "researcher")]
CaseReaders = Annotated[Principal, role("admin", "analyst", "regulator", "provider")]
FeedUsers = Annotated[Principal, role("admin", "analyst", "provider")]
ProviderUser = Annotated[Principal, role("provider")]
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
    principal: Staff,
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
    items = [case_row(c, u, n, identifiers=True, pseudonym_key="") for c, u, n in rows]
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
def case_page(case_id: int, request: Request, principal: CaseReaders, session: DB) -> Response:
    row = session.execute(case_query(session, principal).where(Case.id == case_id)).first()
    if row is None:
        raise HTTPException(404, "no such case")
    case, url, name = row
    events = case_timeline(session, case, for_provider=principal.role == "provider")
    return render(
        request,
        "case.html",
        {
            "case": case_row(case, url, name, identifiers=True, pseudonym_key=""),
            "events": [e.as_dict() for e in events],
        },
    )


@router.get("/providers")
def providers_page(request: Request, principal: Readers, session: DB, svc: Svc) -> Response:
    stats = provider_stats(session, svc.clock.now(), provider_filter(principal))
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
    provider_id: int, request: Request, principal: Readers, session: DB, svc: Svc
) -> Response:
    provider = session.scalar(
        select(Provider).where(Provider.id == provider_id, provider_filter(principal))
    )
    if provider is None:
        raise HTTPException(404, "no such provider")
    now = svc.clock.now()
    stats = next(iter(provider_stats(session, now, Provider.id == provider_id)), None)
    assets = session.scalars(
        select(ProviderAsset)
        .where(ProviderAsset.provider_id == provider_id)
        .order_by(ProviderAsset.kind, ProviderAsset.value)
    ).all()
    recent = []
    if sees_identifiers(principal):
        rows = session.execute(
            case_query(session, principal, provider_id=provider_id)
            .order_by(Case.id.desc())
            .limit(20)
        ).all()
        recent = [case_row(c, u, n, identifiers=True, pseudonym_key="") for c, u, n in rows]
    return render(
        request,
        "provider.html",
        {
            "provider": provider,
            "stats": stats,
            "assets": assets,
            "recent": recent,
            "months": _monthly(session, provider_id, now),
        },
    )


@router.get("/feed")
def feed_page(
    request: Request,
    principal: FeedUsers,
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
    principal: FeedUsers, session: DB, svc: Svc, provider_id: int | None = None
) -> Response:
    who = provider_principal(principal, provider_id)
    return Response(
        feed_csv(feed_cases(session, who, svc.clock.now())),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="hostwatch-feed.csv"'},
    )


@router.get("/feed.atom")
def feed_page_atom(
    request: Request, principal: FeedUsers, session: DB, svc: Svc, provider_id: int | None = None
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
    principal: ProviderUser,
    session: WriteDB,
    svc: Svc,
    csrf: Annotated[str, Form(max_length=100)] = "",
    note: Annotated[str | None, Form(max_length=2000)] = None,
) -> Response:
    check_csrf(request, csrf)
    lock_row(session, Case, case_id)
    now = svc.clock.now()
    try:
        if action == "ack":
            acknowledge(session, principal, case_id, now)
        elif action == "resolve":
            mark_resolved(session, principal, case_id, now, note)
        else:
            raise HTTPException(404, "unknown action")
    except LookupError as exc:
        raise HTTPException(404, "no such case") from exc
    return back(f"/feed?done={action}")


@router.post("/feed/contact")
def feed_contact(
    request: Request,
    principal: ProviderUser,
    session: WriteDB,
    svc: Svc,
    email: Annotated[str, Form(max_length=320)],
    csrf: Annotated[str, Form(max_length=100)] = "",
    note: Annotated[str | None, Form(max_length=2000)] = None,
) -> Response:
    check_csrf(request, csrf)
    try:
        request_contact(session, principal, email, note, svc.clock.now())
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from exc
    return back("/feed?done=contact")


@router.get("/contact-requests")
def contact_requests_page(request: Request, principal: Staff, session: DB) -> Response:
    return render(request, "contact_requests.html", {"requests": pending_requests(session)})


@router.post("/contact-requests/{request_id}/{decision}")
def contact_request_decision(
    request_id: int,
    decision: str,
    request: Request,
    principal: Staff,
    session: WriteDB,
    svc: Svc,
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    check_csrf(request, csrf)
    if decision not in ("confirm", "reject"):
        raise HTTPException(404, "unknown decision")
    try:
        decide(
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
def dossiers_page(request: Request, principal: Oversight, session: DB, svc: Svc) -> Response:
    return render(
        request, "dossiers.html", {"stats": providers_missing_deadlines(session, svc.clock.now())}
    )


def _dossier(session: Session, provider_id: int, now: datetime) -> Any:
    try:
        return build_dossier(session, provider_id, now)
    except LookupError as exc:
        raise HTTPException(404, str(exc)) from exc


@router.get("/dossiers/{provider_id:int}")
def dossier_page(
    provider_id: int, request: Request, principal: Oversight, session: DB, svc: Svc
) -> Response:
    dossier = _dossier(session, provider_id, svc.clock.now())
    return render(request, "dossier.html", {"d": dossier.as_dict()})


@router.get("/dossiers/{provider_id}.pdf")
def dossier_pdf_page(
    provider_id: int, request: Request, principal: Oversight, session: DB, svc: Svc
) -> Response:
    dossier = _dossier(session, provider_id, svc.clock.now())
    html = env.get_template("dossier_pdf.html").render(d=dossier.as_dict())
    return Response(
        dossier_pdf(html),
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="dossier-provider-{provider_id}.pdf"'
        },
    )


@router.get("/watchlist")
def watchlist_page(request: Request, principal: Staff, session: DB) -> Response:
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
