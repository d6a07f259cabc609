"""FastAPI dependencies: the request's database session, clock and principal.

Authentication reads only ``Authorization: Bearer`` for the API and the session cookie (a
server-side session id, never the token) for the portal. Reads use :func:`db`; every route that
writes uses :data:`WriteDB`, which waits its turn in the service's one writer queue
(:mod:`hostwatch.web.writes`) and commits before the response is sent, so a client is never
told 200 for a write that then failed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import anyio.to_thread
from fastapi import Depends, HTTPException, Request
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from hostwatch.clock import Clock
from hostwatch.model.db import unit_of_work
from hostwatch.settings import Settings
from hostwatch.web.auth import (
    AuthError,
    Principal,
    authenticate_until,
    session_principal,
    token_hash,
    touch_token,
)
from hostwatch.web.writes import WriteQueue

if TYPE_CHECKING:
    from hostwatch.web.read_cache import ReadCache

SESSION_COOKIE = "hw_session"
TOUCH_EVERY = 60.0  # seconds: a token's last use is written at most this often per process
TOUCH_BATCH_SECONDS = 2.0  # uses noted within this window are written in one transaction
REQUEST_THREADS = 16
"""Threads per server process for handlers and token checks (anyio's default is 40).

The work in them is Python holding the GIL between short database calls, so more threads than
this add no throughput on one core; 40 of them made every request slower (GIL hand-offs) and
held more database connections than the readers' pool keeps (20 on SQLite, 20 on PostgreSQL),
so connections were opened and closed per request under load."""
log = logging.getLogger("hostwatch.web")


@dataclass
class Service:
    """What every request needs, built once by ``create_app``."""

    settings: Settings
    clock: Clock
    sessions: sessionmaker[Session]
    writes: WriteQueue
    reads: ReadCache
    _touched: dict[int, float] = field(default_factory=dict)
    _pending: set[int] = field(default_factory=set)
    _background: set[asyncio.Task[None]] = field(default_factory=set)

    def touch(self, token_id: int | None) -> None:
        """Record a token's use in the background, through the writer queue: the request that
        used it neither waits for a write nor holds a thread for one.

        Uses within ``TOUCH_BATCH_SECONDS`` are written in one transaction: every commit starts
        a new data version and so empties the read cache (:mod:`hostwatch.web.read_cache`), and
        200 clients with 20 tokens made 40 such commits in the first second of a burst.
        """
        stamp = time.monotonic()
        if token_id is None or stamp - self._touched.get(token_id, -TOUCH_EVERY) < TOUCH_EVERY:
            return
        self._touched[token_id] = stamp
        if not self._pending:
            task = asyncio.get_running_loop().create_task(self._touch_later())
            self._background.add(task)
            task.add_done_callback(self._background.discard)
        self._pending.add(token_id)

    async def _touch_later(self) -> None:
        await asyncio.sleep(TOUCH_BATCH_SECONDS)
        token_ids, self._pending = sorted(self._pending), set()

        def write() -> None:
            with unit_of_work(self.writes.sessions()) as session:
                for token_id in token_ids:
                    touch_token(session, token_id, self.clock.now())

        try:
            async with self.writes.turn():
                await run_in_threadpool(write)
        except Exception:  # a missed "last used" stamp is no reason to fail anything
            log.warning("could not record the use of tokens %s", token_ids, exc_info=True)


def limit_request_threads(threads: int = REQUEST_THREADS) -> None:
    """Cap the running event loop's thread pool at ``threads`` (call it at application start)."""
    anyio.to_thread.current_default_thread_limiter().total_tokens = threads


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


async def write_db(request: Request) -> AsyncIterator[Session]:
    """A write unit of work: its turn in the writer queue, committed before the response."""
    svc: Service = request.app.state.service
    async with svc.writes.turn():
        session = svc.writes.sessions()
        try:
            yield session
        except BaseException:
            await run_in_threadpool(_end, session, commit=False)
            raise
        await run_in_threadpool(_end, session, commit=True)


def _end(session: Session, *, commit: bool) -> None:
    """Commit (or roll back) and give the connection back, in one trip to a thread."""
    try:
        if commit:
            session.commit()
        else:
            session.rollback()
    finally:
        session.close()


WriteDB = Annotated[Session, Depends(write_db, scope="function")]


def _authenticate(svc: Service, token: str, now: datetime) -> tuple[Principal, datetime | None]:
    """Check a token in a session of its own (reads only), given back before the handler runs."""
    with svc.sessions() as session:
        return authenticate_until(session, token, now)


def _from_session(svc: Service, session_id: str) -> Principal:
    with svc.sessions() as session:
        return session_principal(session, session_id, svc.clock.now())


async def principal_for(request: Request, token: str) -> Principal:
    """The principal of a bearer token (AuthError if none); its use is noted in the background."""
    svc: Service = request.app.state.service
    version = await svc.reads.version.read()
    key, now = token_hash(token), svc.clock.now()
    principal = svc.reads.principals.get(key, version, now)
    if principal is None:  # else kept while the data is unchanged (ReadCache.principals)
        principal, expires_at = await run_in_threadpool(_authenticate, svc, token, now)
        svc.reads.principals.put(key, version, principal, expires_at)
    request.state.data_version = version
    svc.touch(principal.token_id)
    request.state.principal = principal
    return principal


async def portal_session_principal(request: Request) -> Principal:
    """The principal of the portal session in the cookie; AuthError when there is none."""
    session_id = request.cookies.get(SESSION_COOKIE)
    if not session_id:
        raise AuthError("not logged in")
    svc: Service = request.app.state.service
    principal = await run_in_threadpool(_from_session, svc, session_id)
    svc.touch(principal.token_id)
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
