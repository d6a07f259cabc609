"""The ASGI application: ``create_app(settings)`` wires API, feed, portal and operations.

OpenAPI is served offline at ``/openapi.json``; FastAPI's default /docs and /redoc pull their
scripts from a CDN and are switched off. ``/docs`` is a self-contained page rendered here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import psycopg
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm.exc import StaleDataError
from starlette.concurrency import run_in_threadpool

from hostwatch.attribution.asset_match import install_sqlite_functions
from hostwatch.attribution.watchlist import scan_exclusive
from hostwatch.clock import Clock
from hostwatch.model.db import (
    engine_for,
    is_contention,
    session_factory,
    write_engine_for,
    write_session_factory,
)
from hostwatch.settings import Settings
from hostwatch.web import resellers
from hostwatch.web.api import (
    attributions,
    cases,
    notices,
    orders,
    providers,
    service_admin,
    triage,
)
from hostwatch.web.deps import Service, limit_request_threads
from hostwatch.web.feed import router as feed_router
from hostwatch.web.ops import AccessLog, RequestMetrics, metrics_router
from hostwatch.web.ops import router as ops_router
from hostwatch.web.portal.orders import router as orders_portal_router
from hostwatch.web.portal.routes import LoginRequired
from hostwatch.web.portal.routes import router as portal_router
from hostwatch.web.portal.triage import router as triage_portal_router
from hostwatch.web.read_cache import ReadCache
from hostwatch.web.security import RedactingFilter, SecurityHeaders, SharedRateLimit
from hostwatch.web.writes import RETRY_AFTER_SECONDS, WriteQueue

API_PREFIX = "/api/v1"
STATIC = Path(__file__).parent / "portal" / "static"
WATCHLIST_INTERVAL = 60.0
log = logging.getLogger("hostwatch.web")


def _redact_server_logs() -> None:
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "fastapi", "hostwatch"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactingFilter) for f in logger.filters):
            logger.addFilter(RedactingFilter())


async def _to_login(request: Request, exc: Exception) -> RedirectResponse:
    return RedirectResponse("/login", status_code=303)


def _unreachable(exc: Exception) -> bool:
    """The database could not be reached or dropped the connection (restarted, network down),
    as opposed to refusing what was asked of it."""
    driver = exc.orig if isinstance(exc, DBAPIError) else exc  # raw: the read cache's probe
    sqlite_code = getattr(driver, "sqlite_errorcode", None)
    return (
        (isinstance(exc, DBAPIError) and exc.connection_invalidated)
        or isinstance(driver, psycopg.OperationalError)
        or (sqlite_code is not None and sqlite_code & 0xFF in _SQLITE_UNREACHABLE)
    )


_SQLITE_UNREACHABLE = (10, 14)
"""SQLITE_IOERR and SQLITE_CANTOPEN: the file is gone, unreadable or its disk failing."""


async def _database_error(request: Request, exc: Exception) -> JSONResponse:
    """Another writer (another process on SQLite, a row lock on PostgreSQL) held what this
    write needed for too long: 409 and a time to retry, never a 500. A database that cannot be
    reached is a 503 with a time to retry (clients and load balancers know to come back; a
    500 says the request itself is at fault). Other database errors stay 500s."""
    if is_contention(exc):
        return JSONResponse(
            {"detail": "a concurrent change held this record; retry shortly"},
            status_code=409,
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    if _unreachable(exc):
        log.error("database unreachable: %s", str(exc).splitlines()[0] if str(exc) else exc)
        return JSONResponse(
            {"detail": "the database is unreachable; retry shortly"},
            status_code=503,
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    log.error("database error", exc_info=exc)
    return JSONResponse({"detail": "internal error"}, status_code=500)


def _watchlist_loop(service: Service, interval: float | None) -> Any:
    """A lifespan that caps the request threads and matches new attributions against the
    watchlist every ``interval`` s."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        limit_request_threads()
        task = asyncio.create_task(_scan_forever(service, interval)) if interval else None
        try:
            yield
        finally:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    return lifespan


async def _scan_forever(service: Service, interval: float) -> None:
    def once() -> None:
        session = service.writes.sessions()
        try:
            scan_exclusive(session, service.clock.now())
            session.commit()
        except Exception:
            session.rollback()
            log.exception("watchlist scan failed")
        finally:
            session.close()

    while True:
        await asyncio.sleep(interval)
        async with service.writes.turn():
            await run_in_threadpool(once)


def create_app(
    settings: Settings,
    *,
    clock: Clock | None = None,
    login_rate: tuple[float, int] = (0.2, 10),
    submit_rate: tuple[float, int] = (2.0, 30),
    watchlist_interval: float | None = None,
) -> FastAPI:
    """The application for these settings; rates are (tokens per second, burst).

    ``watchlist_interval`` (seconds) makes the server match new attributions against the
    watchlist in the background; ``hostwatch serve`` sets it to 60.
    """
    engine = engine_for(settings.database_url)
    install_sqlite_functions(engine)
    install_sqlite_functions(write_engine_for(settings.database_url))
    writes = write_session_factory(settings.database_url)
    sessions = session_factory(settings.database_url)
    _redact_server_logs()
    service = Service(
        settings=settings,
        clock=clock or settings.clock(),
        sessions=sessions,
        writes=WriteQueue.for_dialect(writes, engine.dialect.name),
        reads=ReadCache(engine, sessions),
    )
    app = FastAPI(
        lifespan=_watchlist_loop(service, watchlist_interval),
        title="hostwatch",
        version="1",
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
        description="Notice-and-takedown attribution, workflow and measurement.",
    )
    app.state.service = service
    app.state.login_limit = SharedRateLimit("login", *login_rate, writes)
    app.state.submit_limit = SharedRateLimit("submit", *submit_rate, writes)
    metrics = RequestMetrics()
    app.state.metrics = metrics
    for module in (cases, attributions, providers, notices, orders, service_admin, triage):
        app.include_router(module.router, prefix=API_PREFIX)
    app.include_router(feed_router, prefix=API_PREFIX)
    app.include_router(resellers.router, prefix=API_PREFIX)
    app.include_router(orders.register_router, prefix=API_PREFIX)
    app.include_router(orders.scorecard_router, prefix=API_PREFIX)
    app.include_router(ops_router)
    app.include_router(metrics_router(metrics))
    app.include_router(portal_router)
    app.include_router(orders_portal_router)
    app.include_router(resellers.portal_router)
    app.include_router(triage_portal_router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_exception_handler(LoginRequired, _to_login)
    app.add_exception_handler(DBAPIError, _database_error)
    app.add_exception_handler(StaleDataError, _database_error)
    app.add_exception_handler(psycopg.OperationalError, _database_error)
    app.add_exception_handler(sqlite3.OperationalError, _database_error)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(AccessLog, metrics=metrics)
    return app


def serve_app(settings: Settings, log_level: str) -> FastAPI:
    """The app for each ``hostwatch serve --workers N`` process (a uvicorn factory).

    ``serve`` hands each worker its settings as this function's arguments (uvicorn pickles the
    factory into the worker), not through the environment.
    """
    from hostwatch.web.logs import configure_logging

    configure_logging(log_level)
    return create_app(settings, watchlist_interval=WATCHLIST_INTERVAL)
