"""Know your resellers: the resellers and customers in a provider's own space, in the feed API and
the portal; a provider sees only its own space, never a watchlist match, never a person's name
(a real natural person's name from the RDAP answers of data/10); its figures are the takedown
figures of the same cases (SQLite and PostgreSQL)."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from test_security import login
from webworld import NOW, T0, World

from conftest import bearer
from hostwatch.metrics.period import period_between
from hostwatch.metrics.takedown import load_takedown_report
from hostwatch.model import Attribution, Case
from hostwatch.model.audit import record
from hostwatch.model.db import session_scope

OFFSHORE = {
    "level": "reseller",
    "name": "Offshore Hosting Ltd",
    "handle": "ORG-RS1-TEST",
    "country": "SC",
    "kind": "organisation",
}
SHOP = {
    "level": "customer",
    "name": "Webshop GmbH",
    "handle": "ORG-CU1-TEST",
    "country": "DE",
    "kind": "organisation",
}


@pytest.fixture
def person(shared_data) -> dict[str, str]:
    """A natural person as LACNIC's RDAP names it (vCard kind individual)."""
    path = shared_data / "10_rdap-whois-samples" / "ipwhois_tests" / "rdap.json"
    answer = json.loads(path.read_text())["2801:10:c000::"]["response"]
    entity = next(e for e in answer["entities"] if e["handle"] == "JDM7")
    name = next(p[3] for p in entity["vcardArray"][1] if p[0] == "fn")
    return {"name": name, "handle": entity["handle"]}


@pytest.fixture
def resold(world: World, person: dict[str, str]) -> World:
    """Alpha's two cases sit under one offshore reseller: one customer is a private person,
    the other a company; a watchlist entry matched the private person's URL."""
    holder = {"level": "network-holder", "name": "alpha org", "handle": "AS64500",
              "country": "NL", "kind": "organisation"}  # fmt: skip
    private = {"level": "customer", "country": "NL", "kind": "natural-person", **person}
    with session_scope(world.db_url) as s:
        first, second = (s.get(Case, i) for i in world.cases["alpha"])
        for case, customer in ((first, private), (second, SHOP)):
            att = s.get(Attribution, case.attribution_id)
            att.parties = [holder, OFFSHORE, customer]
            att.reseller = "Offshore Hosting Ltd (ORG-RS1-TEST)"
        record(
            s,
            at=T0,
            actor="watchlist",
            action="watchlist.match",
            object_type="attribution",
            object_id=first.attribution_id,
            data={"url_id": first.url_id, "list": "police"},
        )
    return world


def _rows(client: TestClient, token: str, query: str = "") -> list[dict]:
    response = client.get(f"/api/v1/feed/resellers{query}", headers=bearer(token))
    assert response.status_code == 200, response.text
    return response.json()


def test_provider_sees_its_resellers_and_customers_never_a_person_or_watchlist(
    client: TestClient, resold: World, person: dict[str, str]
) -> None:
    response = client.get("/api/v1/feed/resellers", headers=bearer(resold.tokens["alpha"]))
    assert person["name"] not in response.text and person["handle"] not in response.text
    assert "watchlist" not in response.text
    rows = {(r["level"], r["name"]): r for r in response.json()}
    assert set(rows) == {
        ("reseller", "Offshore Hosting Ltd"),
        ("customer", "private individual"),
        ("customer", "Webshop GmbH"),
    }
    offshore = rows[("reseller", "Offshore Hosting Ltd")]
    assert (offshore["country"], offshore["kind"], offshore["urls"], offshore["cases"]) == (
        "SC",
        "organisation",
        2,
        2,
    )
    private = rows[("customer", "private individual")]
    assert (private["kind"], private["parties"], private["urls"]) == ("natural-person", 1, 1)
    # the same cases, the same figures as the takedown report of the provider they belong to
    report = load_takedown_report(resold.db_url, period_between(None, NOW), by="provider")
    (alpha,) = [p for p in report["providers"] if p["provider"] == "Alpha Hosting"]
    assert offshore["n"] == 2  # both cases were seen online: both count
    for name in ("n", "removed", "removed_within_24h", "median_status", "median_hours"):
        assert offshore[name] == alpha[name], name
    # another provider sees nothing of Alpha's space; staff see the watchlist column
    assert _rows(client, resold.tokens["beta"]) == []
    staff = _rows(client, resold.tokens["analyst"], f"?provider_id={resold.providers['alpha']}")
    matches = {(r["level"], r["name"]): r["watchlist_matches"] for r in staff}
    assert matches[("customer", "private individual")] == 1
    assert matches[("customer", "Webshop GmbH")] == 0
    assert person["name"] not in json.dumps(staff)
    refused = client.get("/api/v1/feed/resellers", headers=bearer(resold.tokens["researcher"]))
    assert refused.status_code == 403


def test_portal_page_lists_them_escaped_and_unnamed(
    client: TestClient, resold: World, person: dict[str, str]
) -> None:
    login(client, resold.tokens["alpha"])
    feed = client.get("/feed")
    assert 'href="/feed/resellers"' in feed.text
    page = client.get("/feed/resellers")
    assert page.status_code == 200
    main = page.text.split("<main", 1)[1]
    assert "Offshore Hosting Ltd" in main and "private individual" in main
    assert person["name"] not in page.text and "Watchlist" not in main
    login(client, resold.tokens["analyst"])
    staff = client.get(f"/feed/resellers?provider_id={resold.providers['alpha']}")
    assert "Watchlist matches" in staff.text and person["name"] not in staff.text
