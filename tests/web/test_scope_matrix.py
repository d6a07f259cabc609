"""Role x route x field: every route of the app has a disclosure rule, every role gets exactly
the routes the rule admits, and every field a role receives is one the policy lets it see.

The routes are read from the application itself (``app.routes``, included routers flattened),
so a route added without a rule in :mod:`hostwatch.web.disclosure` fails here, and so does a
response field added without one (``disclose`` raises, or the field check below names it).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from starlette.routing import Mount
from test_security import login
from webworld import World

from conftest import bearer
from hostwatch.web import disclosure
from hostwatch.web.api.common import Caller
from hostwatch.web.app import API_PREFIX
from hostwatch.web.auth import Principal
from hostwatch.web.disclosure import (
    AGGREGATES,
    API_ROUTES,
    FULL,
    OPS_ROUTES,
    PORTAL_PAGES,
    RECORDS,
    ROLES,
    PolicyGap,
    disclose,
)

PROVIDERS = ("alpha", "beta", "gamma")
ROLE_TOKENS = {"admin": "admin", "analyst": "analyst", "regulator": "regulator"}
ROLE_TOKENS |= {"researcher": "researcher", "provider": "alpha"}


def flat_routes(routes: list[Any], prefix: str = "") -> Iterator[tuple[str, str]]:
    """(method, full path) of every route, through FastAPI's included routers."""
    for route in routes:
        original = getattr(route, "original_router", None)
        if original is not None:
            yield from flat_routes(original.routes, prefix + route.include_context.prefix)
        elif isinstance(route, Mount):
            continue  # /static: files, no data
        else:
            for method in sorted(getattr(route, "methods", None) or ()):
                if method != "HEAD":
                    yield method, prefix + route.path


def table_for(path: str) -> tuple[dict[str, disclosure.Route], str]:
    if path.startswith(API_PREFIX + "/"):
        return API_ROUTES, path.removeprefix(API_PREFIX)
    if any(key.split(" ", 1)[1] == path for key in OPS_ROUTES):
        return OPS_ROUTES, path
    return PORTAL_PAGES, path


def app_routes(client: TestClient) -> list[tuple[str, str]]:
    return list(flat_routes(client.app.routes))  # type: ignore[attr-defined]


def test_every_route_has_a_rule_and_every_rule_a_route(client: TestClient) -> None:
    seen: set[tuple[int, str]] = set()
    routes = app_routes(client)
    assert len(routes) > 40  # the flattening found the included routers
    for method, path in routes:
        table, key = table_for(path)
        assert f"{method} {key}" in table, f"no disclosure rule for {method} {path}"
        seen.add((id(table), f"{method} {key}"))
    for table in (API_ROUTES, OPS_ROUTES, PORTAL_PAGES):
        for key in table:
            assert (id(table), key) in seen, f"stale rule {key}: no such route"


def test_every_route_open_to_providers_or_researchers_has_field_rules() -> None:
    for table in (API_ROUTES, PORTAL_PAGES):
        for key, rule in table.items():
            if rule.record is None or not rule.roles - FULL:
                continue
            fields = RECORDS[rule.record]
            if fields is None:  # aggregates only
                assert rule.record in AGGREGATES, key
                assert rule.roles - FULL <= {"researcher", "provider"}, key
            else:
                assert all(roles <= set(ROLES) for roles in fields.values()), key


def _concrete(path: str, world: World, role: str) -> str:
    """A path whose ids exist and are visible to the caller where that matters."""
    case = world.cases["alpha"][0]
    provider = world.providers["alpha"]
    out = path.replace("{case_id}", str(case)).replace("{provider_id}", str(provider))
    out = out.replace("{provider_id:int}", str(provider))
    out = out.replace("{request_id}", "999999").replace("{decision}", "reject")
    out = out.replace("{action}", "ack")
    if path in ("/api/v1/metrics/takedown",):
        out += "?period=2024"
    if role != "provider" and path.startswith(("/api/v1/feed", "/feed")) and "cases" not in path:
        out += f"?provider_id={provider}"
    return out


def _call(client: TestClient, method: str, path: str, role: str, world: World) -> Any:
    token = world.tokens[ROLE_TOKENS[role]]
    if path.startswith(API_PREFIX):
        body = {"url": "http://matrix.example/x"} if path.endswith("/notices") else None
        if path.endswith("/feed/contact"):
            body = {"email": "matrix@alpha.example"}
        return client.request(method, path, headers=bearer(token), json=body)
    if getattr(client, "portal_token", None) != token:  # a server-side session per role
        login(client, token)
        client.portal_token = token  # type: ignore[attr-defined]
    csrf = client.get("/login").cookies.get("hw_csrf") or client.cookies.get("hw_csrf")
    form = {"csrf": csrf or "", "email": "matrix@alpha.example"} if method == "POST" else None
    return client.request(method, path, data=form, follow_redirects=False)


@pytest.mark.parametrize("role", ROLES)
def test_each_role_gets_exactly_the_routes_its_rule_admits(
    client: TestClient, world: World, role: str
) -> None:
    admitted = refused = 0
    for method, path in app_routes(client):
        table, key = table_for(path)
        rule = table[f"{method} {key}"]
        if not rule.roles:
            continue  # open routes: login, health, docs
        r = _call(client, method, _concrete(path, world, role), role, world)
        admitted += role in rule.roles
        refused += role not in rule.roles
        if role in rule.roles:
            assert r.status_code not in (401, 403) and r.status_code < 500, (
                role,
                method,
                path,
                r.status_code,
                r.text[:300],
            )
        else:
            assert r.status_code == 403, (role, method, path, r.status_code)
    assert admitted >= 5 and refused >= 5, (admitted, refused)


def _records(payload: Any) -> list[dict[str, Any]]:
    if isinstance(payload, list):
        return [p for p in payload if isinstance(p, dict)]
    return [payload] if isinstance(payload, dict) else []


@pytest.mark.parametrize("role", ROLES)
def test_every_field_a_role_receives_is_one_the_policy_lets_it_see(
    client: TestClient, world: World, role: str
) -> None:
    checked = 0
    for method, path in app_routes(client):
        if method != "GET" or not path.startswith(API_PREFIX):
            continue
        rule = API_ROUTES[f"GET {path.removeprefix(API_PREFIX)}"]
        if role not in rule.roles or rule.record is None:
            continue
        r = _call(client, "GET", _concrete(path, world, role), role, world)
        if r.status_code == 404:
            continue  # e.g. a dossier of a provider that missed nothing
        assert r.status_code == 200, (role, path, r.text[:300])
        fields = RECORDS[rule.record]
        if fields is None:
            assert role in FULL or rule.record in AGGREGATES, (role, path)
            continue
        for row in _records(json.loads(r.text)):
            for name in row:
                assert name in fields, f"{path}: field {name!r} has no rule"
                assert role in fields[name], f"{path}: {role} must not see {name!r}"
            checked += 1
    assert checked > 0


def test_a_route_or_field_without_a_rule_is_refused(settings: object, world: World) -> None:
    """What a developer meets who adds a route or a field and forgets the policy."""
    with pytest.raises(PolicyGap, match=r"case\.secret_note"):
        disclose("case", {"id": 1, "secret_note": "x"}, Principal(1, "provider", 1))
    with pytest.raises(PolicyGap):
        disclose("contact_request", {"id": 1}, Principal(1, "researcher"))
    router = APIRouter()

    @router.get("/cases/{case_id}/secrets")
    def secrets(case_id: int, principal: Caller) -> dict[str, int]:
        return {"case": case_id}

    from hostwatch.web.app import create_app

    app: FastAPI = create_app(settings)  # type: ignore[arg-type]
    app.include_router(router, prefix=API_PREFIX)
    with TestClient(app, base_url="http://127.0.0.1") as c:
        for role in ("admin", "analyst"):
            r = c.get("/api/v1/cases/1/secrets", headers=bearer(world.tokens[role]))
            assert r.status_code == 403, role
    assert any(isinstance(r, APIRoute) for r in router.routes)


def test_every_api_route_refuses_anonymous_callers(client: TestClient, world: World) -> None:
    """Except the open ones (the public register), which name no reported location."""
    routes = [(m, p) for m, p in app_routes(client) if p.startswith(API_PREFIX)]
    assert len(routes) == len(API_ROUTES)
    for method, path in routes:
        r = client.request(method, _concrete(path, world, "admin"))
        if API_ROUTES[f"{method} {path.removeprefix(API_PREFIX)}"].roles:
            assert r.status_code == 401, (method, path, r.status_code)
        else:
            assert r.status_code == 200, (method, path, r.status_code)
            assert not [s for s in world.all_identifiers() if s in r.text], path


def test_provider_sees_exactly_its_cases(client: TestClient, world: World) -> None:
    for key in PROVIDERS:
        got = client.get("/api/v1/cases", headers=bearer(world.tokens[key])).json()
        assert sorted(c["id"] for c in got) == sorted(world.visible(key)), key


def test_verified_assets_open_cases_and_the_provider_reads_its_own_name(
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
        "/api/v1/cases",
        "/api/v1/cases?state=open",
        "/api/v1/attributions",
        "/api/v1/providers",
        "/api/v1/metrics/providers",
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


def test_researcher_never_sees_urls_hosts_or_ips(client: TestClient, world: World) -> None:
    headers = bearer(world.tokens["researcher"])
    cases = client.get("/api/v1/cases", headers=headers).json()
    assert len(cases) == 4 and all("url" not in c and c["url_pseudonym"] for c in cases)
    paths = ["/api/v1/cases", "/api/v1/attributions", "/api/v1/providers"]
    paths += ["/api/v1/metrics/providers"]
    paths += [f"/api/v1/cases/{i}" for v in world.cases.values() for i in v]
    paths += [f"/api/v1/providers/{p}" for p in world.providers.values()]
    for path in paths:
        r = client.get(path, headers=headers)
        assert r.status_code == 200, path
        for secret in world.all_identifiers():
            assert secret not in r.text, (path, secret)
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


@pytest.mark.parametrize("role", ["admin", "analyst"])
def test_staff_see_everything(client: TestClient, world: World, role: str) -> None:
    headers = bearer(world.tokens[role])
    cases = client.get("/api/v1/cases", headers=headers).json()
    assert len(cases) == 4
    feed = client.get(f"/api/v1/feed?provider_id={world.providers['beta']}", headers=headers)
    assert [c["id"] for c in feed.json()] == world.cases["beta"]


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
    for secret in [*world.all_identifiers(), "192.0.2.0/24"]:
        assert secret not in page.text
