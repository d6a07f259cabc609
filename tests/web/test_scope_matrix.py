"""Role x endpoint x other tenant's object: who may call what, and who sees whose data."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from test_security import login
from webworld import World

from conftest import bearer

PROVIDERS = ("alpha", "beta", "gamma")
STAFF_ONLY = (
    "/api/v1/contact-requests",
    "/api/v1/watchlist",
    "/api/v1/watchlist/alerts",
)
OVERSIGHT = ("/api/v1/audit/verify", "/api/v1/dossiers")


def list_endpoints(world: World) -> list[str]:
    return [
        "/api/v1/cases",
        "/api/v1/cases?state=open",
        "/api/v1/attributions",
        "/api/v1/providers",
        "/api/v1/metrics/providers",
    ]


def test_provider_sees_exactly_its_cases(client: TestClient, world: World) -> None:
    for key in PROVIDERS:
        got = client.get("/api/v1/cases", headers=bearer(world.tokens[key])).json()
        assert sorted(c["id"] for c in got) == sorted(world.visible(key)), key


def test_rule_one_verified_asn_and_rule_two_manual_provider(
    client: TestClient, world: World
) -> None:
    alpha = client.get("/api/v1/cases", headers=bearer(world.tokens["alpha"])).json()
    assert {c["provider"] for c in alpha} == {"Alpha Hosting"}
    beta = client.get("/api/v1/cases", headers=bearer(world.tokens["beta"])).json()
    assert [c["url"] for c in beta] == ["http://beta-host.example/p"]
    for field in ("url", "provider", "state", "first_message_at", "removed_at", "takedown_seconds"):
        assert field in beta[0]
    assert beta[0]["takedown_seconds"] == 40 * 3600


@pytest.mark.parametrize("key", PROVIDERS)
def test_provider_gets_404_for_every_other_tenants_object(
    client: TestClient, world: World, key: str
) -> None:
    headers = bearer(world.tokens[key])
    for other in PROVIDERS:
        if other == key:
            continue
        for case_id in world.cases[other]:
            for path in (f"/api/v1/cases/{case_id}", f"/api/v1/cases/{case_id}/timeline"):
                assert client.get(path, headers=headers).status_code == 404, (key, path)
            for action in ("ack", "resolve"):
                r = client.post(f"/api/v1/feed/cases/{case_id}/{action}", headers=headers)
                assert r.status_code == 404, (key, action)
        pid = world.providers[other]
        assert client.get(f"/api/v1/providers/{pid}", headers=headers).status_code == 404
        # naming another provider in the feed does not switch the tenant
        feed = client.get(f"/api/v1/feed?provider_id={pid}", headers=headers).json()
        assert {c["id"] for c in feed} <= set(world.cases[key])


@pytest.mark.parametrize("key", PROVIDERS)
def test_no_other_tenants_identifier_in_any_provider_answer(
    client: TestClient, world: World, key: str
) -> None:
    headers = bearer(world.tokens[key])
    paths = [
        *list_endpoints(world),
        "/api/v1/feed",
        "/api/v1/feed.csv",
        "/api/v1/feed.atom",
        "/api/v1/feed/digest",
    ]
    for case_id in world.visible(key):
        paths += [f"/api/v1/cases/{case_id}", f"/api/v1/cases/{case_id}/timeline"]
    others = world.other_secrets(key)
    for path in paths:
        r = client.get(path, headers=headers)
        assert r.status_code == 200, (key, path, r.text)
        for secret in others:
            assert secret not in r.text, (key, path, secret)
    own = client.get("/api/v1/providers", headers=headers).json()
    assert [p["id"] for p in own] == [world.providers[key]]


@pytest.mark.parametrize("key", PROVIDERS)
def test_provider_may_not_use_staff_endpoints(client: TestClient, world: World, key: str) -> None:
    headers = bearer(world.tokens[key])
    for path in (*STAFF_ONLY, *OVERSIGHT, f"/api/v1/dossiers/{world.providers[key]}"):
        assert client.get(path, headers=headers).status_code == 403, path
    r = client.post("/api/v1/notices", headers=headers, json={"url": "http://x.example/"})
    assert r.status_code == 403


def test_researcher_never_sees_urls_hosts_or_ips(client: TestClient, world: World) -> None:
    headers = bearer(world.tokens["researcher"])
    cases = client.get("/api/v1/cases", headers=headers).json()
    assert len(cases) == 4 and all("url" not in c and c["url_pseudonym"] for c in cases)
    for path in [
        *list_endpoints(world),
        *(f"/api/v1/cases/{i}" for v in world.cases.values() for i in v),
    ]:
        r = client.get(path, headers=headers)
        assert r.status_code == 200, path
        for secret in world.all_identifiers():
            assert secret not in r.text, (path, secret)
    forbidden = [
        "/api/v1/feed?provider_id=1",
        *STAFF_ONLY,
        *OVERSIGHT,
        f"/api/v1/cases/{world.cases['alpha'][0]}/timeline",
    ]
    for path in forbidden:
        assert client.get(path, headers=headers).status_code == 403, path
    assert client.get("/api/v1/cases?url_contains=alpha", headers=headers).status_code == 403


def test_regulator_reads_dossiers_but_submits_nothing(client: TestClient, world: World) -> None:
    headers = bearer(world.tokens["regulator"])
    listed = client.get("/api/v1/dossiers", headers=headers).json()
    assert {s["provider"] for s in listed} == {
        "Alpha Hosting",
        "Beta Networks",
        "<img src=x onerror=alert(1)>Gamma",
    }
    dossier = client.get(f"/api/v1/dossiers/{world.providers['beta']}", headers=headers).json()
    assert [c["id"] for c in dossier["cases"]] == world.cases["beta"]
    assert dossier["audit_chain"]["intact"] is True and dossier["audit_chain"]["last_hash"]
    for path in STAFF_ONLY:
        assert client.get(path, headers=headers).status_code == 403
    assert client.get("/api/v1/feed?provider_id=1", headers=headers).status_code == 403
    assert (
        client.post(
            "/api/v1/notices", headers=headers, json={"url": "http://x.example/"}
        ).status_code
        == 403
    )


@pytest.mark.parametrize("role", ["admin", "analyst"])
def test_staff_see_everything(client: TestClient, world: World, role: str) -> None:
    headers = bearer(world.tokens[role])
    cases = client.get("/api/v1/cases", headers=headers).json()
    assert len(cases) == 4
    for path in (*STAFF_ONLY, *OVERSIGHT):
        assert client.get(path, headers=headers).status_code == 200, path
    feed = client.get(f"/api/v1/feed?provider_id={world.providers['beta']}", headers=headers)
    assert [c["id"] for c in feed.json()] == world.cases["beta"]


def test_every_api_route_refuses_anonymous_callers(client: TestClient, world: World) -> None:
    for route in client.app.routes:  # type: ignore[attr-defined]
        path = getattr(route, "path", "")
        for method in getattr(route, "methods", ()) or ():
            if not path.startswith("/api/v1"):
                continue
            concrete = path.replace("{case_id}", "1").replace("{provider_id}", "1")
            concrete = concrete.replace("{request_id}", "1").replace("{decision}", "confirm")
            r = client.request(method, concrete)
            assert r.status_code == 401, (method, concrete, r.status_code)


def test_portal_pages_follow_the_same_rule(client: TestClient, world: World) -> None:
    login(client, world.tokens["beta"])
    assert client.get("/queue").status_code == 403
    assert client.get("/providers").status_code == 403
    assert client.get(f"/cases/{world.cases['alpha'][0]}").status_code == 404
    assert client.get(f"/cases/{world.cases['beta'][0]}").status_code == 200
    feed = client.get("/feed").text
    assert "beta-host.example" in feed and "alpha.example" not in feed
    assert client.get(f"/dossiers/{world.providers['alpha']}").status_code == 403
    login(client, world.tokens["researcher"])
    page = client.get(f"/providers/{world.providers['alpha']}")
    assert page.status_code == 200
    for secret in world.all_identifiers():
        assert secret not in page.text
