"""FastAPI dependencies: the request's database session, clock and principal.

Authentication reads only ``Authorization: Bearer`` for the API and the session cookie for the
portal; both end in the same :func:`hostwatch.web.auth.authenticate`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from hostwatch.clock import Clock
from hostwatch.model.db import unit_of_work
from hostwatch.settings import Settings
from hostwatch.web.auth import AuthError, Principal, authenticate

SESSION_COOKIE = "hw_session"


@dataclass
class Service:
    """What every request needs, built once by ``create_app``."""

    settings: Settings
    clock: Clock
    sessions: sessionmaker[Session]


async def service(request: Request) -> Service:
    return request.app.state.service


async def db(request: Request) -> AsyncIterator[Session]:
    """The request's session, opened lazily and closed on the event loop.

    Closing (and the short commit) runs on the loop rather than in the thread pool: a request
    that holds a pooled connection must never wait for a free thread to give it back, or a burst
    of requests deadlocks with every thread waiting for a connection (FastAPI's sync-dependency
    trap).
    """
    with unit_of_work(request.app.state.service.sessions()) as session:
        yield session


def _authenticate(svc: Service, token: str) -> Principal:
    """Check a token in a session of its own, given back before the handler runs."""
    with svc.sessions() as session:
        principal = authenticate(session, token, svc.clock.now())
        session.commit()
        return principal


async def principal_for(request: Request, token: str) -> Principal:
    principal = await run_in_threadpool(_authenticate, request.app.state.service, token)
    request.state.principal = principal
    return principal


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


async def api_principal(request: Request) -> Principal:
    token = bearer_token(request)
    if token is None:
        raise HTTPException(401, "missing bearer token", headers={"WWW-Authenticate": "Bearer"})
    try:
        return await principal_for(request, token)
    except AuthError as exc:
        raise HTTPException(401, str(exc), headers={"WWW-Authenticate": "Bearer"}) from exc


def require(*roles: str) -> Callable[..., Principal]:
    """A dependency that admits only the given roles (403 for the others)."""

    async def check(principal: Annotated[Principal, Depends(api_principal)]) -> Principal:
        if principal.role not in roles:
            raise HTTPException(403, f"role {principal.role!r} may not use this endpoint")
        return principal

    return check


ALL_ROLES = ("admin", "analyst", "researcher", "regulator", "provider")
