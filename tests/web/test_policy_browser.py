"""The tipping-off case in a real browser: what a provider's own pages show of an escalated,
moved case (headless Debian Chromium against ``hostwatch serve``)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest
from policy_world import AUTHORITY, LEAKS, escalate_and_move
from webworld import World

from conftest import Server

CHROMIUM = "/usr/bin/chromium"
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not shutil.which(CHROMIUM), reason="needs Debian chromium"),
]


@pytest.fixture
def page(server: Server) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield browser.new_context().new_page()
        browser.close()


def _login(page, server: Server, token: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(server.base + "/login")
    page.fill("input[name=token]", token)
    with page.expect_navigation():
        page.click("button[type=submit]")


def test_provider_pages_say_nothing_of_the_referral(  # type: ignore[no-untyped-def]
    page, server: Server, world: World
) -> None:
    case_id = escalate_and_move(world)
    _login(page, server, world.tokens["alpha"])
    seen = {}
    for path in ("/feed", f"/cases/{case_id}"):
        page.goto(server.base + path)
        seen[path] = page.locator("main").inner_text()
    assert "under-review" in seen["/feed"] and "under-review" in seen[f"/cases/{case_id}"]
    assert "abuse@alpha.example" in seen[f"/cases/{case_id}"]
    for path, text in seen.items():
        for leak in (*LEAKS, f"provider:{world.providers['beta']}", "Escalation level"):
            assert leak.lower() not in text.lower(), (path, leak)
    page.click("text=Log out")
    page.wait_for_url("**/login")
    _login(page, server, world.tokens["analyst"])
    page.goto(server.base + f"/cases/{case_id}")
    staff = page.locator("main").inner_text()
    assert AUTHORITY in staff and "case.escalated" in staff and "case.moved" in staff
