"""Triage in the service: the API for staff only, and the portal page in a real browser (headless
Debian Chromium against ``hostwatch serve``), with a hostile URL among the waiting reports."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from webworld import NOW, World

from conftest import Server, bearer
from hostwatch.identity import url_id
from hostwatch.model import Attribution, AuditEvent, Case, Notice, Url
from hostwatch.model.db import session_scope
from hostwatch.model.triage import TriageVerdict
from hostwatch.takedown.cases import open_cases

CHROMIUM = "/usr/bin/chromium"
OPENED = NOW - timedelta(hours=5)
HOSTILE = "http://alpha.example/t/\"><script>document.title='pwned'</script><a href=x>"
API = "/api/v1"


def seed_pending(world: World, count: int = 3) -> list[int]:
    """Reports from OpenPhish (unassessed) on Alpha's network, their cases opened for real."""
    urls = [HOSTILE] + [f"http://alpha.example/t/{i}" for i in range(1, count)]
    with session_scope(world.db_url) as s:
        for n, text in enumerate(urls):
            uid = url_id(text)
            s.add(
                Url(
                    id=uid,
                    url=text,
                    scheme="http",
                    host="alpha.example",
                    host_type="domain",
                    first_seen_at=OPENED,
                )
            )
            s.flush()
            notice = Notice(
                notice_key=f"triage-{n}",
                url_id=uid,
                source="openphish",
                format="openphish",
                received_at=OPENED,
                raw=text,
            )
            s.add(notice)
            s.flush()
            ip = f"192.0.2.{50 + n}"
            s.add(
                Attribution(
                    url_id=uid,
                    notice_id=notice.id,
                    at=OPENED,
                    computed_at=OPENED,
                    status="ok",
                    host="alpha.example",
                    ips=[ip],
                    ip=ip,
                    provider_id=world.providers["alpha"],
                    country="NL",
                )
            )
    with session_scope(world.db_url) as s:
        open_cases(s, now=OPENED)
        ids = s.scalars(select(Case.id).where(Case.triage == "pending").order_by(Case.id)).all()
    assert len(ids) == count
    return list(ids)


def test_api_queue_and_verdicts_are_for_staff_only(client: TestClient, world: World) -> None:
    ids = seed_pending(world)
    provider = bearer(world.tokens["alpha"])

    def provider_sees() -> set[int]:
        cases = {c["id"] for c in client.get(f"{API}/cases", headers=provider).json()}
        feed = {c["id"] for c in client.get(f"{API}/feed", headers=provider).json()}
        assert cases & set(ids) == feed & set(ids)  # the case list and the feed agree
        return cases & set(ids)

    assert provider_sees() == set()  # no one assessed them: the provider hears nothing yet
    for role in ("provider", "researcher", "regulator"):
        token = world.tokens["alpha" if role == "provider" else role]
        assert client.get(f"{API}/triage", headers=bearer(token)).status_code == 403
        answer = client.post(
            f"{API}/triage/verdicts",
            json={"cases": ids, "verdict": "not-illegal"},
            headers=bearer(token),
        )
        assert answer.status_code == 403
    analyst = bearer(world.tokens["analyst"])
    queue = client.get(f"{API}/triage", headers=analyst).json()
    assert [q["case_id"] for q in queue] == ids
    assert queue[0]["url"] == HOSTILE and queue[0]["waiting_hours"] == 5.0
    assert queue[0]["sources"] == ["openphish"]

    missing = client.post(
        f"{API}/triage/verdicts",
        json={"cases": ids[:2], "verdict": "illegal", "classification": "phishing"},
        headers=analyst,
    )
    assert missing.status_code == 422 and "legal basis" in missing.json()["detail"]
    done = client.post(
        f"{API}/triage/verdicts",
        json={
            "cases": ids[:2],
            "verdict": "illegal",
            "classification": "phishing",
            "legal_basis": "Art. 326 Sr (fraud)",
        },
        headers=analyst,
    )
    assert done.status_code == 200, done.text
    assert [c["case_id"] for c in done.json()["cases"]] == ids[:2]
    again = client.post(
        f"{API}/triage/verdicts", json={"cases": ids, "verdict": "not-illegal"}, headers=analyst
    )
    assert again.status_code == 409
    assert f"case {ids[0]} is not waiting for triage (already decided: illegal)" in again.text
    assert [q["case_id"] for q in client.get(f"{API}/triage", headers=analyst).json()] == ids[2:]
    assert provider_sees() == set(ids[:2])  # found illegal: now the provider's own cases
    with session_scope(world.db_url) as s:
        verdicts = s.scalars(select(TriageVerdict).order_by(TriageVerdict.case_id)).all()
        assert [(v.case_id, v.verdict) for v in verdicts] == [(i, "illegal") for i in ids[:2]]
        event = s.scalar(select(AuditEvent).where(AuditEvent.action == "triage.illegal"))
        assert event is not None and event.actor.startswith("analyst (token:")
        assert event.data["legal_basis"] == "Art. 326 Sr (fraud)"
    quality = client.get(f"{API}/metrics/quality?period=2024", headers=analyst).json()
    assert quality["triage"]["waiting"] == 1
    assert quality["triage"]["decided"]["illegal"] == 2


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


@pytest.mark.browser
@pytest.mark.skipif(not shutil.which(CHROMIUM), reason="needs Debian chromium")
def test_analyst_triages_in_bulk_in_the_portal(  # type: ignore[no-untyped-def]
    page, server: Server, world: World
) -> None:
    ids = seed_pending(world, count=4)
    _login(page, server, world.tokens["analyst"])
    page.click("header >> text=Triage")
    page.wait_for_url("**/triage")
    rows = page.locator("tbody tr[data-case]")
    assert rows.count() == 4
    first = page.locator(f"tr[data-case='{ids[0]}']")
    assert "<script>" in first.locator("code.url").inner_text()  # shown as text
    assert page.title() != "pwned"
    assert page.locator("main a[href='x']").count() == 0  # no link made from the URL
    assert "5.0 h" in first.inner_text() and "openphish" in first.inner_text()

    # nothing selected: the page says so and records nothing
    page.check("input[value=not-illegal]")
    page.click("button:text('Record verdict')")
    assert "no case given" in page.locator("[role=alert]").inner_text()

    for case_id in ids[:2]:
        page.check(f"#case-{case_id}")
    page.check("input[value=illegal]")
    page.fill("input[name=classification]", "csam")
    page.fill("input[name=legal_basis]", "Art. 252 Sr")
    with page.expect_navigation():
        page.click("button:text('Record verdict')")
    assert "Recorded: 2 illegal" in page.locator("[role=status]").inner_text()
    assert page.locator("tbody tr[data-case]").count() == 2

    page.check(f"#case-{ids[2]}")
    page.check("input[value=not-reachable]")
    with page.expect_navigation():
        page.click("button:text('Record verdict')")
    assert "Recorded: 1 not-reachable" in page.locator("[role=status]").inner_text()
    assert [r.get_attribute("data-case") for r in page.locator("tbody tr[data-case]").all()] == [
        str(ids[3])
    ]
    with session_scope(world.db_url) as s:
        got = dict(s.execute(select(Case.id, Case.triage).where(Case.id.in_(ids))).all())
        analysts = set(s.scalars(select(TriageVerdict.analyst)))
    assert got == {ids[0]: "illegal", ids[1]: "illegal", ids[2]: "not-reachable", ids[3]: "pending"}
    assert len(analysts) == 1 and next(iter(analysts)).startswith("analyst (token:")

    # a provider never learns that reports about it wait
    page.click("text=Log out")
    page.wait_for_url("**/login")
    _login(page, server, world.tokens["alpha"])
    response = page.goto(server.base + "/triage")
    assert response is not None and response.status == 403


def test_concurrent_verdicts_on_the_same_cases_record_exactly_one(
    server: Server, world: World
) -> None:
    """Ten analysts submit at once (a real server, its writer queue, the row locks): one wins,
    the others are told the cases were already decided, and each case has one verdict."""
    from concurrent.futures import ThreadPoolExecutor

    import httpx

    ids = seed_pending(world)
    body = {"cases": ids, "verdict": "not-illegal"}

    def submit(_: int) -> int:
        answer = httpx.post(
            f"{server.base}{API}/triage/verdicts",
            json=body,
            headers=bearer(world.tokens["analyst"]),
            timeout=60,
        )
        return answer.status_code

    with ThreadPoolExecutor(10) as pool:
        codes = sorted(pool.map(submit, range(10)))
    assert codes == [200] + [409] * 9
    with session_scope(world.db_url) as s:
        rows = s.execute(select(TriageVerdict.case_id).order_by(TriageVerdict.case_id)).all()
        events = s.scalars(
            select(AuditEvent.object_id).where(AuditEvent.action == "triage.not-illegal")
        ).all()
    assert [r[0] for r in rows] == ids
    assert sorted(int(e) for e in events) == ids
