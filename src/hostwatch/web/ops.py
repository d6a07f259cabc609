"""Operations: /healthz, /metrics in the Prometheus text format, and structured access logs.

``/healthz`` is open (it says only "ok"). ``/metrics`` needs an admin or regulator bearer token
(Prometheus sends one with ``authorization: {credentials: ...}``): its case counts per state are
not for everyone who can reach the port.

The exposition is written here (no client library): a request counter per method, route template
and status, a latency histogram per route, and case counts per state read at scrape time. Route
templates (``/api/v1/cases/{case_id}``) rather than raw paths keep the label set bounded.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections import defaultdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from hostwatch.model import Case
from hostwatch.model.db import probe_engine_for
from hostwatch.web.auth import Principal
from hostwatch.web.deps import db, require
from hostwatch.web.security import RedactingFilter

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
access_log = logging.getLogger("hostwatch.web.access")
access_log.addFilter(RedactingFilter())


class RequestMetrics:
    """Counters and histograms kept in process memory, rendered on scrape."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.counts: dict[tuple[str, str, str], int] = defaultdict(int)
        self.buckets: dict[str, list[int]] = {}
        self.sums: dict[str, float] = defaultdict(float)
        self.totals: dict[str, int] = defaultdict(int)

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        with self._lock:
            self.counts[(method, route, str(status))] += 1
            counts = self.buckets.setdefault(route, [0] * len(BUCKETS))
            for i, bound in enumerate(BUCKETS):
                if seconds <= bound:
                    counts[i] += 1
            self.sums[route] += seconds
            self.totals[route] += 1

    def render(self) -> list[str]:
        lines = [
            "# HELP hostwatch_http_requests_total HTTP requests by method, route and status.",
            "# TYPE hostwatch_http_requests_total counter",
        ]
        with self._lock:
            for (method, route, status), n in sorted(self.counts.items()):
                labels = f'method="{method}",route="{_label(route)}",status="{status}"'
                lines.append(f"hostwatch_http_requests_total{{{labels}}} {n}")
            lines += [
                "# HELP hostwatch_http_request_duration_seconds Request latency by route.",
                "# TYPE hostwatch_http_request_duration_seconds histogram",
            ]
            for route, counts in sorted(self.buckets.items()):
                r = _label(route)
                for bound, n in zip(BUCKETS, counts, strict=True):
                    lines.append(
                        f'hostwatch_http_request_duration_seconds_bucket{{route="{r}",le="{bound}"}}'
                        f" {n}"
                    )
                total = self.totals[route]
                lines.append(
                    f'hostwatch_http_request_duration_seconds_bucket{{route="{r}",le="+Inf"}} '
                    f"{total}"
                )
                lines.append(
                    f'hostwatch_http_request_duration_seconds_sum{{route="{r}"}} '
                    f"{self.sums[route]:.6f}"
                )
                lines.append(
                    f'hostwatch_http_request_duration_seconds_count{{route="{r}"}} {total}'
                )
        return lines


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def route_label(scope: dict[str, Any]) -> str:
    """The full route template: included routers report their path without the prefix."""
    template = getattr(scope.get("route"), "path", None)
    if template is None:
        return "unmatched"
    actual = scope["path"].split("/")
    inner = template.split("/")
    if len(actual) <= len(inner):
        return template
    return "/".join(actual[: len(actual) - len(inner) + 1]) + template


class AccessLog:
    """ASGI middleware: one JSON log line and one metrics observation per request.

    Only method, route, path, status, duration and client address are logged: never headers,
    never the query string (it may carry a feed token), never bodies.
    """

    def __init__(self, app: Any, metrics: RequestMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def capture(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            seconds = time.perf_counter() - start
            route = route_label(scope)
            self.metrics.observe(scope["method"], route, status, seconds)
            if access_log.isEnabledFor(logging.INFO):
                client = scope.get("client") or ("-", 0)
                access_log.info(
                    json.dumps(
                        {
                            "event": "request",
                            "method": scope["method"],
                            "route": route,
                            "path": scope["path"],
                            "status": status,
                            "ms": round(seconds * 1000, 2),
                            "client": client[0],
                        }
                    )
                )


router = APIRouter(include_in_schema=False)


@router.get("/healthz")
async def healthz(request: Request) -> dict[str, str]:
    """The database answers: on a connection of its own, in a thread outside the request
    threads, so a burst of requests (which hold those) does not make the service look down."""
    engine = probe_engine_for(request.app.state.service.settings.database_url)
    await asyncio.to_thread(_probe, engine)
    return {"status": "ok", "database": "ok"}


def _probe(engine: Engine) -> None:
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))


def metrics_router(metrics: RequestMetrics) -> APIRouter:
    scrape = APIRouter(include_in_schema=False)

    @scrape.get("/metrics")
    def prometheus(
        _: Annotated[Principal, Depends(require("admin", "regulator"))],
        session: Annotated[Session, Depends(db)],
    ) -> Response:
        lines = metrics.render()
        lines += ["# HELP hostwatch_cases Cases by state.", "# TYPE hostwatch_cases gauge"]
        for state, n in session.execute(select(Case.state, func.count()).group_by(Case.state)):
            lines.append(f'hostwatch_cases{{state="{_label(state)}"}} {n}')
        return Response(
            "\n".join(lines) + "\n", media_type="text/plain; version=0.0.4; charset=utf-8"
        )

    return scrape
