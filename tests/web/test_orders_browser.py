"""The regulator's desk and a provider's answer to an order, in headless Debian Chromium
against ``hostwatch serve``; screenshots as in test_browser.py."""

from __future__ import annotations

from pathlib import Path

import httpx
from test_browser import expect, login, page, pytestmark, shots
from webworld import World

from conftest import Server, bearer

__all__ = ["page", "pytestmark", "shots"]


def _issue(server: Server, world: World, key: str) -> str:
    answer = httpx.post(
        server.base + "/api/v1/orders",
        json={
            "provider": {"alpha": "Alpha Hosting", "beta": "Beta Networks"}[key],
            "cases": world.cases[key][:1],
            "deadline_hours": 12,
        },
        headers=bearer(world.tokens["regulator"]),
    )
    assert answer.status_code == 201, answer.text
    return answer.json()["reference"]


def logout(page) -> None:  # type: ignore[no-untyped-def]
    with page.expect_navigation():
        page.click("header form button")


def test_orders_in_the_portal(page, server: Server, world: World, shots: Path) -> None:  # type: ignore[no-untyped-def]
    alpha_order = _issue(server, world, "alpha")
    beta_order = _issue(server, world, "beta")

    login(page, server, world.tokens["regulator"])
    page.goto(server.base + "/orders")
    expect(page.locator("tbody tr")).to_have_count(2)
    page.screenshot(path=str(shots / "01-regulator-orders.png"), full_page=True)
    page.click(f"text={beta_order}")
    expect(page.locator("h1")).to_have_text(f"Removal order {beta_order}")
    assert page.locator("#acknowledge").count() == 0  # only the provider answers
    page.goto(server.base + f"/scorecards/{world.providers['alpha']}?period=2024")
    expect(page.locator("h1")).to_contain_text("Duty of care: Alpha Hosting, 2024")
    page.screenshot(path=str(shots / "02-scorecard.png"), full_page=True)
    logout(page)

    login(page, server, world.tokens["alpha"])
    page.goto(server.base + "/orders")
    expect(page.locator("tbody tr")).to_have_count(1)
    assert beta_order not in page.content()
    page.click(f"text={alpha_order}")
    page.click("#acknowledge")
    expect(page.locator("dd").nth(6)).not_to_have_text("not yet")
    page.fill("#grounds", "<script>alert(1)</script> the URL is a customer's")
    page.click("#object")
    expect(page.locator("main ul li")).to_contain_text("<script>alert(1)</script>")
    page.screenshot(path=str(shots / "03-provider-answered.png"), full_page=True)
    assert page.goto(server.base + f"/orders/{beta_order}").status == 404
    assert page.goto(server.base + f"/scorecards/{world.providers['beta']}").status == 404
    page.goto(server.base + "/orders")
    logout(page)

    # The public register needs no login and shows no location.
    page.goto(server.base + "/register")
    expect(page.locator("h1")).to_have_text("Public register of sanctions")
    for secret in world.all_identifiers():
        assert secret not in page.content()
    # the only console errors are the refused pages above (and their favicon)
    assert [e for e in page.errors if "404" not in e] == []  # type: ignore[attr-defined]
