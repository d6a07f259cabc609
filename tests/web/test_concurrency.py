"""Many provider writes at once against a real ``hostwatch serve`` on loopback.

What failed in the field: 50 concurrent ack/resolve requests, two in three answered 500 or reset
(pool timeouts, "database is locked", ``StaleDataError``) while ``/healthz`` stalled 30-100 s,
and the audit chain forked. Now every write is answered 2xx (or a clear 409/429 with
``Retry-After``), reads keep answering meanwhile, and the chain stays intact.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
from webworld import NOW, World

from conftest import Server, bearer
from hostwatch.model.audit_verify import verify_log
from hostwatch.model.db import session_scope
from hostwatch.settings import Settings

WRITES = 50


async def _burst(base: str, world: World) -> tuple[list[int], list[float], list[str]]:
    """WRITES concurrent acks and resolves on the cases two providers may see, while one client
    polls /healthz; returns the write statuses, the health latencies and any health failures."""
    targets = [("alpha", c) for c in world.visible("alpha")] + [
        ("beta", c) for c in world.visible("beta")
    ]
    health: list[float] = []
    health_errors: list[str] = []
    done = asyncio.Event()
    limits = httpx.Limits(max_connections=WRITES)
    async with (
        httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as client,
        httpx.AsyncClient(base_url=base, timeout=5) as monitor,
    ):

        async def write(i: int) -> int:
            key, case_id = targets[i % len(targets)]
            action = "ack" if i % 2 else "resolve"
            r = await client.post(
                f"/api/v1/feed/cases/{case_id}/{action}",
                headers=bearer(world.tokens[key]),
                json={"note": f"removed {i}"} if action == "resolve" else None,
            )
            if r.status_code in (409, 429):
                assert "retry-after" in r.headers
            return r.status_code

        async def poll() -> None:
            while not done.is_set():
                start = time.perf_counter()
                try:
                    r = await monitor.get("/healthz")
                    if r.status_code != 200:
                        health_errors.append(str(r.status_code))
                except httpx.HTTPError as exc:
                    health_errors.append(type(exc).__name__)
                health.append(time.perf_counter() - start)
                await asyncio.sleep(0.02)

        await monitor.get("/healthz")  # the poller's connection is open before the burst
        poller = asyncio.create_task(poll())
        await asyncio.sleep(0.05)
        statuses = await asyncio.gather(*(write(i) for i in range(WRITES)))
        done.set()
        await poller
    return list(statuses), health, health_errors


def test_concurrent_provider_writes_hold(settings: Settings, world: World, tmp_path: Path) -> None:
    srv = Server(settings.database_url, tmp_path, now=NOW.isoformat())
    try:
        statuses, health, health_errors = asyncio.run(_burst(srv.base, world))
    finally:
        srv.stop()
    assert not [s for s in statuses if s >= 500], statuses
    assert set(statuses) <= {200, 409, 429}, statuses
    assert statuses.count(200) >= WRITES * 0.9, statuses  # a refusal is the exception
    assert health and not health_errors, health_errors
    assert max(health) < 1.0, f"/healthz took {max(health):.2f} s during the burst"
    with session_scope(settings.database_url) as s:
        assert verify_log(s, None).problems == []
        from sqlalchemy import func, select

        from hostwatch.model import AuditEvent

        written = s.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action.in_(("provider.acknowledged", "provider.resolved")))
        )
    assert written == statuses.count(200)  # every 200 was committed, nothing else was


def test_rate_limits_are_shared_by_workers(
    settings: Settings, world: World, tmp_path: Path
) -> None:
    """Two worker processes, one login bucket (burst 10, 0.2/s): 24 guesses from one address get
    10 answers plus what refilled meanwhile, not 10 per worker."""
    srv = Server(settings.database_url, tmp_path, now=NOW.isoformat(), workers=2)
    try:
        codes = []
        start = time.monotonic()
        for i in range(24):  # a fresh connection each time: the kernel spreads them over workers
            with httpx.Client(base_url=srv.base, timeout=10) as client:
                client.get("/login")
                csrf = client.cookies.get("hw_csrf")
                r = client.post("/login", data={"token": f"hw_guess{i}", "csrf": csrf})
                codes.append(r.status_code)
        elapsed = time.monotonic() - start
    finally:
        srv.stop()
    assert set(codes) == {401, 429}, codes
    assert codes.count(401) <= 10 + int(elapsed * 0.2) + 1, (codes, elapsed)


def test_every_write_route_takes_the_writer_queue(settings: Settings) -> None:
    """A POST/PUT/PATCH/DELETE route that opens the readers' session writes outside the queue:
    on SQLite it would contend for the write lock in a thread, as before."""
    from fastapi.routing import APIRoute

    from hostwatch.web.app import create_app
    from hostwatch.web.deps import db, write_db

    def calls(dependant) -> set[object]:  # type: ignore[no-untyped-def]
        found = {dependant.call}
        for sub in dependant.dependencies:
            found |= calls(sub)
        return found

    def routes(items):  # type: ignore[no-untyped-def]
        for route in items:  # FastAPI keeps included routers as nodes of their own
            inner = getattr(route, "original_router", None)
            yield from routes(inner.routes) if inner is not None else [route]

    writing = 0
    for route in routes(create_app(settings).routes):
        if not isinstance(route, APIRoute) or not route.methods & {
            "POST",
            "PUT",
            "PATCH",
            "DELETE",
        }:
            continue
        used = calls(route.dependant)
        assert db not in used, f"{route.path} writes through the readers' session"
        writing += write_db in used
    assert writing >= 8  # ack, resolve, contact (API and portal), decisions, login, logout


def test_lock_contention_is_told_apart_from_other_database_errors(db_url: str) -> None:
    """What the app answers 409 + Retry-After for (a lock another writer held too long) and what
    stays a 500, on real errors of both databases."""
    import pytest
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import DBAPIError

    from hostwatch.model.db import is_contention, normalise_url

    url = normalise_url(db_url)
    sqlite = url.startswith("sqlite")
    args = {"connect_args": {"timeout": 0}} if sqlite else {}
    first, second = create_engine(url, **args), create_engine(url, **args)
    try:
        with first.connect() as a, second.connect() as b:
            a.execute(text("CREATE TABLE held (id INTEGER PRIMARY KEY)"))
            a.execute(text("INSERT INTO held VALUES (1)"))
            a.commit()
            if sqlite:
                a.execute(text("INSERT INTO held VALUES (2)"))  # holds the write lock
                blocked = "INSERT INTO held VALUES (3)"
            else:
                a.execute(text("SELECT id FROM held WHERE id = 1 FOR UPDATE"))
                b.execute(text("SET lock_timeout = '100ms'"))
                blocked = "SELECT id FROM held WHERE id = 1 FOR UPDATE"
            with pytest.raises(DBAPIError) as locked:
                b.execute(text(blocked))
            b.rollback()
            with pytest.raises(DBAPIError) as broken:
                b.execute(text("SELECT * FROM no_such_table"))
            a.rollback()
    finally:
        first.dispose()
        second.dispose()
    assert is_contention(locked.value)
    assert not is_contention(broken.value)
