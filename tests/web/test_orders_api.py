"""Role isolation of the orders API: who issues, who proposes, who sees which order."""

from __future__ import annotations

from fastapi.testclient import TestClient
from webworld import World

from conftest import bearer


def _order(client: TestClient, world: World, key: str, provider: str) -> str:
    answer = client.post(
        "/api/v1/orders",
        json={"provider": provider, "cases": world.cases[key][:1]},
        headers=bearer(world.tokens["regulator"]),
    )
    assert answer.status_code == 201, answer.text
    return answer.json()["reference"]


def test_only_the_regulator_issues_and_providers_see_only_their_own(
    client: TestClient, world: World
) -> None:
    body = {"provider": "Alpha Hosting", "cases": world.cases["alpha"][:1]}
    for role in ("admin", "analyst", "researcher", "alpha", "beta"):
        assert (
            client.post("/api/v1/orders", json=body, headers=bearer(world.tokens[role])).status_code
            == 403
        )
    alpha = _order(client, world, "alpha", "Alpha Hosting")
    beta = _order(client, world, "beta", "Beta Networks")
    # a case of another provider cannot be ordered from this one
    wrong = client.post(
        "/api/v1/orders",
        json={"provider": "Alpha Hosting", "cases": world.cases["beta"]},
        headers=bearer(world.tokens["regulator"]),
    )
    assert wrong.status_code == 422 and "not attributed" in wrong.json()["detail"]

    def refs(token: str) -> list[str]:
        answer = client.get("/api/v1/orders", headers=bearer(token))
        assert answer.status_code == 200
        return sorted(o["reference"] for o in answer.json())

    assert refs(world.tokens["regulator"]) == sorted([alpha, beta])
    assert refs(world.tokens["alpha"]) == [alpha]
    assert refs(world.tokens["beta"]) == [beta]
    assert refs(world.tokens["gamma"]) == []
    assert (
        client.get("/api/v1/orders", headers=bearer(world.tokens["researcher"])).status_code == 403
    )
    assert (
        client.get(f"/api/v1/orders/{beta}", headers=bearer(world.tokens["alpha"])).status_code
        == 404
    )
    assert (
        client.post(
            f"/api/v1/orders/{beta}/objection",
            json={"grounds": "x"},
            headers=bearer(world.tokens["alpha"]),
        ).status_code
        == 404
    )
    assert (
        client.post(
            f"/api/v1/orders/{alpha}/acknowledge",
            json={},
            headers=bearer(world.tokens["regulator"]),
        ).status_code
        == 403
    )
    empty = client.post(
        f"/api/v1/orders/{alpha}/objection",
        json={"grounds": " "},
        headers=bearer(world.tokens["alpha"]),
    )
    assert empty.status_code == 422
    # the provider's view never names another provider's order
    assert beta not in client.get("/api/v1/orders", headers=bearer(world.tokens["alpha"])).text


def test_analyst_proposes_and_the_register_is_public(client: TestClient, world: World) -> None:
    proposed = client.post(
        "/api/v1/orders/proposals",
        json={"case_id": world.cases["alpha"][0], "note": "hoster ignores notices"},
        headers=bearer(world.tokens["analyst"]),
    )
    assert proposed.status_code == 201
    assert (
        client.post(
            "/api/v1/orders/proposals",
            json={"case_id": world.cases["alpha"][0]},
            headers=bearer(world.tokens["alpha"]),
        ).status_code
        == 403
    )
    register = client.get("/api/v1/register")
    assert register.status_code == 200 and register.json() == []
