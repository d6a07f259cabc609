"""Concurrent provider writes against a real ``hostwatch serve``: the audit log never forks.

The issue's reproduction: 4 clients x 10 acks, all answered 200, and ``audit verify`` found the
log broken, two appends chained onto one tail. Here 4 and then 20 clients ack and resolve cases
while a regulator pulls dossiers, each of which signs a head mid-load; afterwards every
successful write is exactly one event, the leaf indices run 0..n-1 without a gap, the log
verifies, and every head signed during the load is a prefix of the final log.
"""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from test_web_cli import run
from webworld import NOW, World

from conftest import Server, bearer
from hostwatch.model import AuditEvent, AuditHead
from hostwatch.model.audit_heads import HeadKey, SignedHead
from hostwatch.model.db import session_scope
from hostwatch.settings import Settings

REQUESTS_PER_CLIENT = 10


def _client_run(
    base: str, token: str, cases: list[int], seed: int, resolve: bool
) -> list[tuple[str, int]]:
    """Acks, and with ``resolve`` every other request a resolve: (route, status) of each."""
    pick = random.Random(seed)
    codes = []
    # A connection per request: a failed resolve must not take the next ack's connection down.
    fresh = httpx.Limits(max_keepalive_connections=0)
    with httpx.Client(base_url=base, headers=bearer(token), timeout=120, limits=fresh) as http:
        for i in range(REQUESTS_PER_CLIENT):
            case = pick.choice(cases)
            route = "resolve" if resolve and i % 2 else "ack"
            body = {"note": f"client {seed}"} if route == "resolve" else None
            try:
                r = http.post(f"/api/v1/feed/cases/{case}/{route}", json=body)
                codes.append((route, r.status_code))
            except httpx.TransportError:  # a reset: counted as not done
                codes.append((route, 0))
    return codes


def _regulator_run(base: str, token: str, provider: int) -> list[dict[str, object]]:
    """Three dossiers during the load: the signed heads they carry."""
    with httpx.Client(base_url=base, headers=bearer(token), timeout=120) as http:
        return [http.get(f"/api/v1/dossiers/{provider}").json()["audit_head"] for _ in range(3)]


@pytest.mark.parametrize("clients", [4, 20])
def test_concurrent_writes_keep_one_log(
    clients: int,
    settings: Settings,
    world: World,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    key_file = tmp_path / "audit.key"
    HeadKey.generate(key_file)
    monkeypatch.setenv("HOSTWATCH_AUDIT_KEY_FILE", str(key_file))
    with session_scope(settings.database_url) as s:
        before = s.scalar(select(func.count()).select_from(AuditEvent))
    server = Server(settings.database_url, tmp_path, now=NOW.isoformat())
    try:
        with ThreadPoolExecutor(clients + 1) as pool:
            writers = [
                pool.submit(
                    _client_run,
                    server.base,
                    world.tokens["alpha" if n % 2 else "beta"],
                    world.visible("alpha" if n % 2 else "beta"),
                    n,
                    clients > 4,
                )
                for n in range(clients)
            ]
            reader = pool.submit(
                _regulator_run, server.base, world.tokens["regulator"], world.providers["beta"]
            )
            codes = [c for w in writers for c in w.result()]
            dossier_heads = reader.result()
    finally:
        server.stop()

    assert len(codes) == clients * REQUESTS_PER_CLIENT
    # Acks append only: every one must succeed. Resolves of one case by many clients at once
    # may lose a race on the case row (that is the service's concurrency, not the log's): only
    # what was answered 200 may be in the log.
    assert {code for route, code in codes if route == "ack"} == {200}, codes
    key = HeadKey.load(key_file)
    for head in dossier_heads:
        assert key.problem_with(SignedHead.from_dict(head)) is None
    ok = sum(code == 200 for _, code in codes)
    with session_scope(settings.database_url) as s:
        seqs = list(s.scalars(select(AuditEvent.seq).order_by(AuditEvent.seq)))
        heads = s.scalar(select(func.count()).select_from(AuditHead))
    assert len(seqs) == before + ok  # each answered write is one event, no more, no less
    assert seqs == list(range(len(seqs)))
    assert heads == 3  # one signed head per dossier, each checked by verify below

    code, out = run("audit", "verify")
    assert code == 0 and "not checked" not in out, out
    assert f"audit log intact: {len(seqs)} events" in out and "3 stored head(s) checked" in out
