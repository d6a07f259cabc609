"""The analyst and provider flows in headless Debian Chromium against ``hostwatch serve``.

Screenshots go to ``$HOSTWATCH_SCREENSHOTS`` (default: the test's tmp folder) for review.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from webworld import World

from conftest import Server
from hostwatch.model import AuditEvent, Case, Contact
from hostwatch.model.db import session_scope

CHROMIUM = "/usr/bin/chromium"
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not shutil.which(CHROMIUM), reason="needs Debian chromium"),
]


@pytest.fixture
def shots(tmp_path: Path, request: pytest.FixtureRequest) -> Path:
    base = Path(os.environ.get("HOSTWATCH_SCREENSHOTS", tmp_path / "screenshots"))
    folder = base / request.node.name.replace("[", "-").replace("]", "")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def page(server: Server) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
            ],
        )
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        pg = context.new_page()
        errors: list[str] = []
        pg.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        pg.on("dialog", lambda d: errors.append("dialog: " + d.message))
        pg.errors = errors  # type: ignore[attr-defined]
        yield pg
        browser.close()


def expect(locator):  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect as pw_expect

    return pw_expect(locator)


def login(page, server: Server, token: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(server.base + "/queue")
    assert page.url.endswith("/login")
    page.fill("input[name=token]", token)
    with page.expect_navigation():
        page.click("button[type=submit]")


def test_analyst_flow(page, server: Server, world: World, shots: Path) -> None:  # type: ignore[no-untyped-def]
    login(page, server, world.tokens["analyst"])
    assert page.url.endswith("/queue")
    assert page.locator("tbody tr").count() == 4
    page.screenshot(path=str(shots / "01-queue.png"), full_page=True)
    page.select_option("select[name=state]", "reachable")
    with page.expect_navigation():
        page.click("text=Filter")
    expect(page.locator("tbody tr")).to_have_count(2)
    page.screenshot(path=str(shots / "02-queue-filtered.png"), full_page=True)
    with page.expect_navigation():
        page.click(f"a[href='/cases/{world.cases['alpha'][0]}'] >> nth=0")
    assert page.locator("h1").inner_text().startswith(f"Case {world.cases['alpha'][0]}")
    timeline = page.locator("table").nth(1).inner_text()
    for kind in ("notice", "attribution", "message", "delivery", "check", "audit"):
        assert kind in timeline
    assert "<script>alert(1)</script>" in page.locator("td.url").inner_text()  # shown as text
    page.screenshot(path=str(shots / "03-case-timeline.png"), full_page=True)
    page.goto(server.base + "/providers")
    with page.expect_navigation():
        page.click("text=Beta Networks")
    assert page.locator("svg.chart").count() == 1
    page.screenshot(path=str(shots / "04-provider.png"), full_page=True)
    page.goto(server.base + f"/dossiers/{world.providers['beta']}")
    assert "chain intact" in page.content()
    page.screenshot(path=str(shots / "05-dossier.png"), full_page=True)
    assert page.errors == []  # type: ignore[attr-defined]


def test_provider_flow_and_contact_confirmation(
    page,
    server: Server,
    world: World,  # type: ignore[no-untyped-def]
    shots: Path,
) -> None:
    login(page, server, world.tokens["alpha"])
    assert page.url.endswith("/feed")
    rows = page.locator("tbody tr")
    assert rows.count() == 2
    assert "beta-host.example" not in page.content()
    page.screenshot(path=str(shots / "01-feed.png"), full_page=True)
    open_case = world.cases["alpha"][0]
    page.click(f"form[action='/feed/cases/{open_case}/ack'] button")
    expect(page.locator("main")).to_contain_text("Case acknowledged.")
    page.click(f"form[action='/feed/cases/{open_case}/resolve'] button")
    expect(page.locator("main")).to_contain_text("re-check is scheduled")
    page.screenshot(path=str(shots / "02-feed-resolved.png"), full_page=True)
    page.fill("input[name=email]", "desk@alpha.example")
    page.fill("input[name=note]", "<b>new desk</b>")
    page.click("form[action='/feed/contact'] button")
    expect(page.locator("main")).to_contain_text("waiting for confirmation")
    page.goto(server.base + f"/cases/{open_case}")
    assert "provider.resolved" in page.content()
    page.screenshot(path=str(shots / "03-provider-case.png"), full_page=True)
    with session_scope(world.db_url) as s:
        case = s.get(Case, open_case)
        assert case.state == "reachable" and case.next_check_at is not None
    page.goto(server.base + f"/cases/{world.cases['beta'][0]}")
    assert "no such case" in page.content()
    page.goto(server.base + "/feed")
    page.click("text=Log out")
    page.wait_for_url("**/login")
    login(page, server, world.tokens["analyst"])
    page.goto(server.base + "/contact-requests")
    assert "desk@alpha.example" in page.content() and "&lt;b&gt;new desk" in page.content()
    page.screenshot(path=str(shots / "04-contact-requests.png"), full_page=True)
    page.click("text=Confirm")
    expect(page.locator("main")).to_contain_text("Nothing pending.")
    with session_scope(world.db_url) as s:
        assert s.scalar(select(Contact.id).where(Contact.email == "desk@alpha.example"))
        acts = set(s.scalars(select(AuditEvent.action)))
    assert {"provider.acknowledged", "provider.resolved", "contact-request.confirmed"} <= acts
    # the one expected failure is the other tenant's case (404); no script ever ran
    assert [e for e in page.errors if "404" not in e] == []  # type: ignore[attr-defined]


def test_server_log_is_structured_and_free_of_tokens(server: Server, world: World) -> None:
    import httpx

    for token in world.tokens.values():
        httpx.get(server.base + "/api/v1/cases", headers={"Authorization": f"Bearer {token}"})
    httpx.get(server.base + "/api/v1/cases?token=" + world.tokens["admin"])
    cases = httpx.get(
        server.base + "/api/v1/cases", headers={"Authorization": f"Bearer {world.tokens['beta']}"}
    ).json()
    assert [c["url"] for c in cases] == ["http://beta-host.example/p"]
    server.stop()
    log = server.log.read_text()
    assert '"event": "request"' in log and '"route": "/api/v1/cases"' in log
    for token in world.tokens.values():
        assert token not in log
