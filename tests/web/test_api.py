"""The API as a client uses it: intake, paging, ETags, feed actions, contact requests."""

from __future__ import annotations

import gzip

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from webworld import LAB, NOW, World

from conftest import bearer
from hostwatch.attribution.assets import verify
from hostwatch.model import AuditEvent, Case, Contact, Notice
from hostwatch.model.db import session_scope
from hostwatch.settings import Settings


def test_single_notice_is_validated_like_ingest(client: TestClient, world: World) -> None:
    h = bearer(world.tokens["analyst"])
    ok = client.post(
        "/api/v1/notices",
        headers=h,
        json={
            "url": "hxxp://Evil[.]Example:80/a/../b",
            "classification": "csam",
            "reference": "R-1",
        },
    )
    assert ok.status_code == 200 and ok.json()["accepted"] == 1
    again = client.post(
        "/api/v1/notices",
        headers=h,
        json={"url": "http://evil.example/b", "classification": "csam", "reference": "R-1"},
    )
    assert again.json()["accepted"] == 0 and again.json()["duplicates"] == 1
    bad = client.post("/api/v1/notices", headers=h, json={"url": "javascript:alert(1)"})
    assert bad.status_code == 422 and "scheme" in bad.text


def test_bulk_keeps_good_lines_and_names_bad_ones(
    client: TestClient, world: World, settings: Settings
) -> None:
    h = bearer(world.tokens["analyst"])
    body = (
        "url,time,reference\n"
        + "".join(f"http://bulk{i}.example/p,2024-02-01T00:00:00Z,B{i}\n" for i in range(50))
        + 'data:text/html,x,2024-02-01T00:00:00Z,B50\n"unbalanced,,\n'
    )
    r = client.post(
        "/api/v1/notices/bulk?format=csv&source=hotline-x", headers=h, content=body.encode()
    )
    got = r.json()
    assert r.status_code == 200 and got["accepted"] == 50 and got["rejected"] == 2
    assert [x["line"] for x in got["rejects"]] == ["52", "53"]
    gz = client.post(
        "/api/v1/notices/bulk?source=hotline-x", headers=h, content=gzip.compress(body.encode())
    )
    assert gz.json()["accepted"] == 0 and gz.json()["duplicates"] == 50
    with session_scope(settings.database_url) as s:
        assert s.scalar(select(func.count()).where(Notice.source == "hotline-x")) == 50
    assert (
        client.post("/api/v1/notices/bulk?format=nope", headers=h, content=b"x").status_code == 422
    )


def test_paging_with_cursor_and_etag(client: TestClient, world: World) -> None:
    h = bearer(world.tokens["admin"])
    seen, cursor = [], None
    while True:
        params = {"limit": 1} | ({"cursor": cursor} if cursor else {})
        r = client.get("/api/v1/cases", params=params, headers=h)
        seen += [c["id"] for c in r.json()]
        cursor = r.headers.get("x-next-cursor")
        if not cursor:
            break
        assert 'rel="next"' in r.headers["link"]
    assert seen == sorted(i for v in world.cases.values() for i in v)
    first = client.get("/api/v1/cases", headers=h)
    etag = first.headers["etag"]
    cached = client.get("/api/v1/cases", headers={**h, "If-None-Match": etag})
    assert cached.status_code == 304 and cached.content == b""
    assert client.get("/api/v1/cases?limit=10001", headers=h).status_code == 422
    state = client.get("/api/v1/cases?state=removed", headers=h).json()
    assert {c["state"] for c in state} == {"removed"} and len(state) == 2


def test_resolve_schedules_a_recheck_and_closes_nothing(
    client: TestClient, world: World, settings: Settings
) -> None:
    h = bearer(world.tokens["alpha"])
    case_id = world.cases["alpha"][0]
    assert client.post(f"/api/v1/feed/cases/{case_id}/ack", headers=h).status_code == 200
    r = client.post(
        f"/api/v1/feed/cases/{case_id}/resolve", headers=h, json={"note": "deleted the folder"}
    )
    assert r.json()["state"] == "reachable"
    with session_scope(settings.database_url) as s:
        case = s.get(Case, case_id)
        assert case.state == "reachable" and case.removed_at is None
        assert case.next_check_at == NOW
        actions = list(
            s.scalars(
                select(AuditEvent.action).where(
                    AuditEvent.object_type == "case", AuditEvent.object_id == str(case_id)
                )
            )
        )
    assert actions[-2:] == ["provider.acknowledged", "provider.resolved"]
    timeline = client.get(f"/api/v1/cases/{case_id}/timeline", headers=h).json()
    assert [e["action"] for e in timeline if e["kind"] == "audit"][-1] == "provider.resolved"
    assert all("source" not in e for e in timeline if e["kind"] == "notice")


def test_contact_change_waits_for_an_analyst(
    client: TestClient, world: World, settings: Settings
) -> None:
    r = client.post(
        "/api/v1/feed/contact",
        headers=bearer(world.tokens["beta"]),
        json={"email": "new-abuse@beta.example", "note": "desk moved"},
    )
    assert r.status_code == 202 and r.json()["status"] == "pending"
    bad = client.post(
        "/api/v1/feed/contact",
        headers=bearer(world.tokens["beta"]),
        json={"email": "a@b.example\r\nBcc: x@y.example"},
    )
    assert bad.status_code == 422
    with session_scope(settings.database_url) as s:
        assert s.scalar(select(Contact).where(Contact.email == "new-abuse@beta.example")) is None
    staff = bearer(world.tokens["analyst"])
    pending = client.get("/api/v1/contact-requests", headers=staff).json()
    assert [p["email"] for p in pending] == ["new-abuse@beta.example"]
    done = client.post(f"/api/v1/contact-requests/{pending[0]['id']}/confirm", headers=staff)
    assert done.json()["status"] == "confirmed"
    with session_scope(settings.database_url) as s:
        contact = s.scalar(select(Contact).where(Contact.email == "new-abuse@beta.example"))
        assert contact is not None and contact.provider_id == world.providers["beta"]
        assert contact.source == "manual"
    again = client.post(f"/api/v1/contact-requests/{pending[0]['id']}/confirm", headers=staff)
    assert again.status_code == 409


def test_verified_prefix_and_org_open_cases(
    client: TestClient, world: World, settings: Settings
) -> None:
    h = bearer(world.tokens["gamma"])
    assert client.get("/api/v1/cases", headers=h).json() == []
    with session_scope(settings.database_url) as s:
        verify(
            s,
            "<img src=x onerror=alert(1)>Gamma",
            [("prefix", "203.0.113.0/25")],
            now=NOW,
            rules=LAB,
        )
    assert [c["id"] for c in client.get("/api/v1/cases", headers=h).json()] == world.cases["gamma"]
    with session_scope(settings.database_url) as s:
        verify(s, "<img src=x onerror=alert(1)>Gamma", [("org", "Beta org")], now=NOW, rules=LAB)
    ids = sorted(c["id"] for c in client.get("/api/v1/cases", headers=h).json())
    assert ids == sorted(world.cases["gamma"] + world.cases["beta"])
    atts = client.get("/api/v1/attributions", headers=h).json()
    assert {a["source.ip"] for a in atts} == {"203.0.113.5", "198.51.100.5"}


def test_digest_and_metrics(client: TestClient, world: World) -> None:
    digest = client.get("/api/v1/feed/digest", headers=bearer(world.tokens["alpha"])).json()
    assert digest["to"] == ["abuse@alpha.example"] and digest["open_cases"] == 1
    assert "files.alpha.example" not in digest["body"].split("Removed")[0]
    stats = client.get("/api/v1/metrics/providers", headers=bearer(world.tokens["researcher"]))
    by_name = {s["provider"]: s for s in stats.json()["providers"]}
    # Figures come from the checks: every case of this world was seen online 30 h after its
    # first message, so each counts as seen online after the 24 h norm and none as removed.
    assert by_name["Beta Networks"]["online_after_24h"] == 1
    assert by_name["Alpha Hosting"]["n"] == 2 and by_name["Alpha Hosting"]["online_after_24h"] == 2
    assert by_name["Alpha Hosting"]["removed_within_24h"] == 0.0
    assert client.get("/healthz").json()["status"] == "ok"
    assert client.get("/metrics").status_code == 401  # case counts are not for anyone
    for other in ("beta", "researcher", "analyst"):
        assert client.get("/metrics", headers=bearer(world.tokens[other])).status_code == 403
    text = client.get("/metrics", headers=bearer(world.tokens["regulator"])).text
    assert 'hostwatch_http_requests_total{method="GET",route="/api/v1/metrics/providers"' in text
    assert 'hostwatch_cases{state="removed"} 2' in text


def test_case_fields_match_the_cases_command(
    client: TestClient, world: World, settings: Settings
) -> None:
    from hostwatch.metrics.case_list import case_rows

    api = client.get("/api/v1/cases", headers=bearer(world.tokens["analyst"])).json()
    with session_scope(settings.database_url) as s:
        cli = case_rows(s)
    shared = (
        "id",
        "url",
        "provider",
        "state",
        "first_message_at",
        "removed_at",
        "takedown_seconds",
        "opened_at",
        "messages_sent",
    )
    assert [{k: c[k] for k in shared} for c in api] == [{k: c[k] for k in shared} for c in cli]


def test_takedown_metrics_come_from_the_measurement_layer(client: TestClient, world: World) -> None:
    r = client.get(
        "/api/v1/metrics/takedown?period=2024&by=provider",
        headers=bearer(world.tokens["researcher"]),
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["by"] == "provider" and "providers" in body
    for secret in world.all_identifiers():
        assert secret not in r.text
    bad = client.get("/api/v1/metrics/takedown?period=soon", headers=bearer(world.tokens["admin"]))
    assert bad.status_code == 422
    assert (
        client.get(
            "/api/v1/metrics/takedown?period=2024", headers=bearer(world.tokens["beta"])
        ).status_code
        == 403
    )
