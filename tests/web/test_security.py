"""Hostile input and hostile callers: XSS, CSRF, SQL injection, rate limits, secret-free logs."""

from __future__ import annotations

import csv
import io
import logging
from xml.etree import ElementTree as ET

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from webworld import FORMULA, NOW, XSS_NAME, World

from conftest import bearer
from hostwatch.clock import Clock
from hostwatch.model import Case
from hostwatch.model.db import session_scope
from hostwatch.settings import Settings
from hostwatch.web.app import create_app

RAW_PAYLOADS = ("<script>alert(1)</script>", "<img src=x onerror=alert(1)>")


def login(client: TestClient, token: str) -> None:
    client.get("/login")
    r = client.post(
        "/login",
        data={"token": token, "csrf": client.cookies.get("hw_csrf")},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text


def test_payloads_are_escaped_on_every_portal_page(client: TestClient, world: World) -> None:
    login(client, world.tokens["analyst"])
    a1 = world.cases["alpha"][0]
    pages = [
        "/queue",
        f"/cases/{a1}",
        "/providers",
        f"/providers/{world.providers['gamma']}",
        f"/providers/{world.providers['alpha']}",
        "/dossiers",
        f"/dossiers/{world.providers['gamma']}",
        f"/dossiers/{world.providers['alpha']}",
        f"/feed?provider_id={world.providers['alpha']}",
        "/watchlist",
        "/docs",
    ]
    seen_escaped = set()
    for page in pages:
        r = client.get(page)
        assert r.status_code == 200, (page, r.text[:300])
        for payload in RAW_PAYLOADS:
            assert payload not in r.text, (page, payload)
        if "&lt;script&gt;" in r.text:
            seen_escaped.add("script")
        if "&lt;img src=x onerror=alert(1)&gt;" in r.text:
            seen_escaped.add("img")
        assert "script-src 'self'" in r.headers["content-security-policy"]
    assert seen_escaped == {"script", "img"}


def test_atom_and_csv_carry_payloads_as_inert_text(client: TestClient, world: World) -> None:
    headers = bearer(world.tokens["alpha"])
    atom = client.get("/api/v1/feed.atom", headers=headers)
    assert atom.headers["content-type"].startswith("application/atom+xml")
    root = ET.fromstring(atom.content)
    ns = {"a": "http://www.w3.org/2005/Atom"}
    titles = [t.text for t in root.findall("a:entry/a:title", ns)]
    assert any("<script>alert(1)</script>" in (t or "") for t in titles)  # as text...
    assert not root.findall(".//script") and b"<script>" not in atom.content  # ...never markup
    rows = list(csv.DictReader(io.StringIO(client.get("/api/v1/feed.csv", headers=headers).text)))
    assert {r["classification"] for r in rows} == {"csam", "'" + FORMULA}
    admin = bearer(world.tokens["admin"])
    gamma = client.get(f"/api/v1/feed.atom?provider_id={world.providers['gamma']}", headers=admin)
    title = ET.fromstring(gamma.content).find("a:title", ns)
    assert title is not None and XSS_NAME in (title.text or "")
    assert b"<img" not in gamma.content


def test_csrf_is_enforced_on_every_form(client: TestClient, world: World) -> None:
    login(client, world.tokens["alpha"])
    case_id = world.cases["alpha"][0]
    good = client.cookies.get("hw_csrf")
    for data in ({}, {"csrf": "forged"}):
        r = client.post(f"/feed/cases/{case_id}/ack", data=data, follow_redirects=False)
        assert r.status_code == 403
        r = client.post(
            "/feed/contact", data={"email": "a@b.example", **data}, follow_redirects=False
        )
        assert r.status_code == 403
        assert client.post("/logout", data=data).status_code == 403
    r = client.post(f"/feed/cases/{case_id}/ack", data={"csrf": good}, follow_redirects=False)
    assert r.status_code == 303
    fresh = TestClient(client.app, base_url="http://127.0.0.1")
    r = fresh.post(
        "/login", data={"token": world.tokens["alpha"], "csrf": "x"}, follow_redirects=False
    )
    assert r.status_code == 403


def test_sql_injection_in_filters_is_harmless(
    client: TestClient, world: World, settings: Settings
) -> None:
    admin = bearer(world.tokens["admin"])
    beta = bearer(world.tokens["beta"])
    attempts = [
        "' OR '1'='1",
        "x'; DROP TABLE cases; --",
        "%' OR 1=1 --",
        "\\' OR 1=1 #",
        "1 UNION SELECT token_hash FROM api_tokens",
    ]
    for text in attempts:
        for params in ({"provider": text}, {"url_contains": text}, {"classification": text[:64]}):
            r = client.get("/api/v1/cases", params=params, headers=admin)
            assert r.status_code == 200 and r.json() == [], (params, r.text)
        for params in ({"url_contains": text}, {"classification": text[:64]}):
            r = client.get("/api/v1/cases", params=params, headers=beta)
            assert r.status_code == 200 and r.json() == [], (params, r.text)
        # naming a provider would let a provider probe for others: refused outright
        r = client.get("/api/v1/cases", params={"provider": text}, headers=beta)
        assert r.status_code == 403
        assert client.get("/api/v1/cases", params={"state": text}, headers=admin).status_code in (
            400,
            422,
        )
        assert client.get("/api/v1/cases", params={"cursor": text}, headers=admin).status_code in (
            400,
            422,
        )
        assert client.get("/api/v1/providers", params={"name": text}, headers=admin).json() == []
    with session_scope(settings.database_url) as s:
        assert s.scalar(select(func.count()).select_from(Case)) == 4
    assert len(client.get("/api/v1/cases", headers=beta).json()) == 1


def test_login_is_rate_limited(settings: Settings, world: World) -> None:
    app = create_app(settings, clock=Clock.at(NOW), login_rate=(0.001, 3))
    client = TestClient(app, base_url="http://127.0.0.1")
    client.get("/login")
    csrf = client.cookies.get("hw_csrf")
    codes = [
        client.post("/login", data={"token": f"hw_guess{i}", "csrf": csrf}).status_code
        for i in range(5)
    ]
    assert codes == [401, 401, 401, 429, 429]
    r = client.post("/login", data={"token": world.tokens["analyst"], "csrf": csrf})
    assert r.status_code == 429 and "retry-after" in r.headers


def test_submit_is_rate_limited_per_token(settings: Settings, world: World) -> None:
    app = create_app(settings, clock=Clock.at(NOW), submit_rate=(0.001, 2))
    client = TestClient(app, base_url="http://127.0.0.1")
    analyst, admin = bearer(world.tokens["analyst"]), bearer(world.tokens["admin"])
    codes = [
        client.post(
            "/api/v1/notices", headers=analyst, json={"url": f"http://n{i}.example/"}
        ).status_code
        for i in range(3)
    ]
    assert codes == [200, 200, 429]
    bulk = client.post("/api/v1/notices/bulk", headers=analyst, content=b"http://z.example/\n")
    assert bulk.status_code == 429
    assert (
        client.post(
            "/api/v1/notices", headers=admin, json={"url": "http://other.example/"}
        ).status_code
        == 200
    )


def test_tokens_never_reach_the_logs(
    client: TestClient, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    token = world.tokens["analyst"]
    client.get("/api/v1/cases", headers=bearer(token))
    client.get("/api/v1/cases", headers=bearer(token + "x"))
    login(client, token)
    logging.getLogger("hostwatch.web.access").info("Authorization: Bearer %s", token)
    logging.getLogger("uvicorn.error").warning("cookie hw_session=%s", token)
    assert any(r.name == "hostwatch.web.access" for r in caplog.records)
    assert token not in caplog.text
    assert "[REDACTED]" in caplog.text


def test_tokens_are_stored_hashed_expire_and_revoke(
    client: TestClient, world: World, settings: Settings
) -> None:
    from datetime import timedelta

    from hostwatch.model import ApiToken
    from hostwatch.web.auth import create_token, revoke_token

    with session_scope(settings.database_url) as s:
        hashes = list(s.scalars(select(ApiToken.token_hash)))
        assert all(t not in hashes for t in world.tokens.values())
        short = create_token(s, role="analyst", now=NOW - timedelta(days=2), expires_days=1)
        doomed = create_token(s, role="analyst", now=NOW)
    assert client.get("/api/v1/cases", headers=bearer(short.token)).status_code == 401
    assert client.get("/api/v1/cases", headers=bearer(doomed.token)).status_code == 200
    with session_scope(settings.database_url) as s:
        revoke_token(s, doomed.id, NOW)
    assert client.get("/api/v1/cases", headers=bearer(doomed.token)).status_code == 401


def test_openapi_is_served_offline(client: TestClient) -> None:
    assert client.get("/openapi.json").json()["paths"]["/api/v1/cases"]
    docs = client.get("/docs").text
    assert "/api/v1/cases" in docs and "cdn" not in docs.lower() and "<script" not in docs
    assert client.get("/redoc").status_code == 404
