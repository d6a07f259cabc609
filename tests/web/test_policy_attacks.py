"""The attacks of issue 15 on who may learn what, replayed against the API and the portal."""

from __future__ import annotations

from fastapi.testclient import TestClient
from policy_world import (
    AUTHORITY,
    LEAKS,
    RESEARCHER_LEAKS,
    escalate_and_move,
)
from test_security import login
from webworld import LAB, NOW, World

from conftest import bearer
from hostwatch.attribution.assets import verify
from hostwatch.model.db import session_scope

GAMMA = "<img src=x onerror=alert(1)>Gamma"


def _provider_texts(client: TestClient, world: World, case_id: int) -> dict[str, str]:
    h = bearer(world.tokens["alpha"])
    paths = [
        "/api/v1/cases",
        f"/api/v1/cases/{case_id}",
        f"/api/v1/cases/{case_id}/timeline",
        "/api/v1/attributions",
        "/api/v1/feed",
        "/api/v1/feed.csv",
        "/api/v1/feed.atom",
        "/api/v1/feed/digest",
        "/api/v1/providers",
        "/api/v1/metrics/providers",
    ]
    out = {}
    for path in paths:
        r = client.get(path, headers=h)
        assert r.status_code == 200, (path, r.text)
        out[path] = r.text
    return out


def test_a_provider_never_reads_of_escalations_referrals_or_moves(
    client: TestClient, world: World
) -> None:
    case_id = escalate_and_move(world)
    staff = client.get(f"/api/v1/cases/{case_id}/timeline", headers=bearer(world.tokens["analyst"]))
    staff_text = staff.text
    # the events are there, and oversight sees them
    assert AUTHORITY in staff_text and "case.escalated" in staff_text and "case.moved" in staff_text
    other = f"provider:{world.providers['beta']}"
    for path, text in _provider_texts(client, world, case_id).items():
        for leak in (*LEAKS, other, "Beta Networks"):
            assert leak.lower() not in text.lower(), (path, leak)
    h = bearer(world.tokens["alpha"])
    case = client.get(f"/api/v1/cases/{case_id}", headers=h).json()
    assert case["state"] == "under-review" and case["state_since"] is None
    for hidden in ("escalation_level", "messages_sent", "last_message_at", "held"):
        assert hidden not in case
    timeline = client.get(f"/api/v1/cases/{case_id}/timeline", headers=h).json()
    # what it may know is still there: its own notice, its delivery, our checks, the states
    kinds = {e["kind"] for e in timeline}
    assert {"notice", "message", "delivery", "check", "audit"} <= kinds
    assert [e["to"] for e in timeline if e["kind"] == "message"] == ["abuse@alpha.example"]
    states = [e["summary"] for e in timeline if e["kind"] == "audit"]
    assert states == ["state: notified", "state: reachable"]
    # a state filter cannot probe for the hidden states
    for probe in ("escalated", "moved"):
        r = client.get(f"/api/v1/cases?state={probe}", headers=h)
        assert r.status_code == 200 and r.json() == [], probe
    under = client.get("/api/v1/cases?state=under-review", headers=h).json()
    assert [c["id"] for c in under] == [case_id]
    for refused in ("provider_id=1", "provider=Beta%20Networks", "held=true"):
        assert client.get(f"/api/v1/cases?{refused}", headers=h).status_code == 403, refused


def test_the_provider_case_page_is_as_quiet_as_the_api(client: TestClient, world: World) -> None:
    case_id = escalate_and_move(world)
    login(client, world.tokens["alpha"])
    page = client.get(f"/cases/{case_id}")
    assert page.status_code == 200
    main = page.text.split("<main", 1)[1]
    for leak in (*LEAKS, f"provider:{world.providers['beta']}"):
        assert leak.lower() not in main.lower(), leak
    assert "under-review" in main and "abuse@alpha.example" in main
    feed = client.get("/feed").text.split("<main", 1)[1]
    for leak in LEAKS:
        assert leak.lower() not in feed.lower(), leak
    login(client, world.tokens["analyst"])
    staff_page = client.get(f"/cases/{case_id}").text
    assert AUTHORITY in staff_page and "case.moved" in staff_page


def test_a_researcher_reads_no_range_resolver_host_or_url_in_any_field(
    client: TestClient, world: World
) -> None:
    case_id = escalate_and_move(world)
    h = bearer(world.tokens["researcher"])
    atts = client.get("/api/v1/attributions", headers=h).json()
    mine = [a for a in atts if a["sources"]]
    assert len(mine) == 1
    assert mine[0]["sources"] == {
        "abuse_contact": "rpsl",
        "ips": "dns",
        "behind_cdn": "CNAME",
        "provider": "manual-prefix",
        "prefix": "routing",
        "country": "other",
    }
    paths = [
        "/api/v1/cases",
        f"/api/v1/cases/{case_id}",
        "/api/v1/attributions",
        "/api/v1/providers",
        f"/api/v1/providers/{world.providers['alpha']}",
        "/api/v1/metrics/providers",
        "/api/v1/metrics/takedown?period=2024&by=reseller",
    ]
    for path in paths:
        text = client.get(path, headers=h).text
        for leak in (*RESEARCHER_LEAKS, *world.all_identifiers(), "abuse@", "192.0.2.0/24", "geo."):
            assert leak not in text, (path, leak)
    login(client, world.tokens["researcher"])
    for page in ("/providers", f"/providers/{world.providers['alpha']}"):
        text = client.get(page).text
        for leak in (*RESEARCHER_LEAKS, *world.all_identifiers(), "192.0.2.0/24"):
            assert leak not in text, (page, leak)


def test_a_provider_never_sees_another_provider_even_as_an_id(
    client: TestClient, world: World, settings: object
) -> None:
    """Gamma is verified for Beta's organisation: it sees Beta's case, but not that it is Beta's."""
    with session_scope(world.db_url) as s:
        verify(s, GAMMA, [("org", "Beta org")], now=NOW, rules=LAB)
    h = bearer(world.tokens["gamma"])
    cases = client.get("/api/v1/cases", headers=h).json()
    assert [c["id"] for c in cases] == world.cases["beta"]
    assert cases[0]["provider"] is None and cases[0]["provider_id"] is None
    atts = client.get("/api/v1/attributions", headers=h).json()
    assert [(a["provider"], a["provider_id"]) for a in atts] == [(None, None)]
    beta_id = str(world.providers["beta"])
    case_id = world.cases["beta"][0]
    for path in (
        "/api/v1/cases",
        f"/api/v1/cases/{case_id}",
        f"/api/v1/cases/{case_id}/timeline",
        "/api/v1/attributions",
        "/api/v1/feed",
        "/api/v1/feed.csv",
        "/api/v1/feed.atom",
        "/api/v1/feed/digest",
    ):
        text = client.get(path, headers=h).text
        assert "Beta Networks" not in text, path
        assert f'"provider_id":{beta_id}' not in text, path
    # its own cases still name it
    alpha = client.get("/api/v1/cases", headers=bearer(world.tokens["alpha"])).json()
    assert {(c["provider"], c["provider_id"]) for c in alpha} == {
        ("Alpha Hosting", world.providers["alpha"])
    }


def test_a_provider_reads_its_assets_but_not_the_notes_on_them(
    client: TestClient, world: World
) -> None:
    pid = world.providers["alpha"]
    own = client.get(f"/api/v1/providers/{pid}", headers=bearer(world.tokens["alpha"])).json()
    assert own["assets"] == [{"kind": "prefix", "value": "192.0.2.0/24", "standing": "verified"}]
    staff = client.get(f"/api/v1/providers/{pid}", headers=bearer(world.tokens["analyst"])).json()
    assert staff["assets"][0]["provenance"] == "verified by cli"
    researcher = bearer(world.tokens["researcher"])
    assert "assets" not in client.get(f"/api/v1/providers/{pid}", headers=researcher).json()
