"""The ASGI application: ``create_app(settings)`` wires API, feed, portal and operations.

OpenAPI is served offline at ``/openapi.json``; FastAPI's default /docs and /redoc pull their
scripts from a CDN and are switched off. ``/docs`` is a self-contained page rendered here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from hostwatch.attribution.asset_match import install_sqlite_functions
from hostwatch.attribution.watchlist import scan_exclusive
from hostwatch.clock import Clock
from hostwatch.model.db import engine_for, session_factory
from hostwatch.settings import Settings
from hostwatch.web.api import attributions, cases, notices, orders, providers, service_admin
from hostwatch.web.deps import Service
from hostwatch.web.feed import router as feed_router
from hostwatch.web.ops import AccessLog, RequestMetrics, metrics_router
from hostwatch.web.ops import router as ops_router
from hostwatch.web.portal.orders import router as orders_portal_router
from hostwatch.web.portal.routes import LoginRequired
from hostwatch.web.portal.routes import router as portal_router
from hostwatch.web.security import RedactingFilter, SecurityHeaders, TokenBucket

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


def _watchlist_loop(service: Service, interval: float | None) -> Any:
    """A lifespan that matches new attributions against the watchlist every ``interval`` s."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
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
        session = service.sessions()
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
    _redact_server_logs()
    service = Service(
        settings=settings,
        clock=clock or settings.clock(),
        sessions=session_factory(settings.database_url),
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
    app.state.login_limit = TokenBucket(*login_rate)
    app.state.submit_limit = TokenBucket(*submit_rate)
    metrics = RequestMetrics()
    app.state.metrics = metrics
    for module in (cases, attributions, providers, notices, orders, service_admin):
        app.include_router(module.router, prefix=API_PREFIX)
    app.include_router(feed_router, prefix=API_PREFIX)
    app.include_router(orders.register_router, prefix=API_PREFIX)
    app.include_router(orders.scorecard_router, prefix=API_PREFIX)
    app.include_router(ops_router)
    app.include_router(metrics_router(metrics))
    app.include_router(portal_router)
    app.include_router(orders_portal_router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_exception_handler(LoginRequired, _to_login)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(AccessLog, metrics=metrics)
    return app


def serve_app() -> FastAPI:
    """The app for each ``hostwatch serve --workers N`` process (a uvicorn factory).

    Worker processes start afresh, so ``serve`` hands them its settings through the environment
    (``HOSTWATCH_*``) and the log level through ``HOSTWATCH_SERVE_LOG_LEVEL``.
    """
    import os

    from hostwatch.settings import get_settings
    from hostwatch.web.logs import configure_logging

    configure_logging(os.environ.get("HOSTWATCH_SERVE_LOG_LEVEL", "info"))
    return create_app(get_settings(), watchlist_interval=WATCHLIST_INTERVAL)
