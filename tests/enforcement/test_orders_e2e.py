"""A removal order from issue to judgement: delivered by SMTP, judged by real checks.

Four URLs on a loopback web server at one provider; the regulator orders their removal within
12 hours through the API; the workflow runs pass by pass on a pinned clock while the web server
takes URLs down at scripted times. The order's cases come out met, missed and undetermined as
the checks around the deadline decide, the provider sees and acknowledges only its own order,
and every step is in the audit log.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from ntd_servers import T0, Inbox, Site, seed_notice
from sqlalchemy import select
from typer.testing import CliRunner

from hostwatch.attribution.assets import AssetRules
from hostwatch.cli.app import app as cli
from hostwatch.clock import Clock
from hostwatch.model.audit import AuditEvent
from hostwatch.model.case import Case
from hostwatch.model.check import Check
from hostwatch.model.db import session_scope
from hostwatch.model.url import Url
from hostwatch.settings import Settings
from hostwatch.takedown.checker import Politeness
from hostwatch.takedown.contacts import ContactSpec, add_contact
from hostwatch.takedown.workflow import run_pass
from hostwatch.web.app import create_app
from hostwatch.web.auth import create_token

POLITE = Politeness(per_host=8, min_interval=0)
LAB = AssetRules.allowing(["127.0.0.0/8"])  # the hoster lives on loopback
ISSUE = T0 + timedelta(hours=1)
DEADLINE = ISSUE + timedelta(hours=12)


def _world(settings: Settings, base: str) -> dict[str, object]:
    with session_scope(settings.database_url) as session:
        hoster = add_contact(
            session,
            ContactSpec(name="Slow Hosting", network="127.0.0.0/8", email="abuse@slow.test"),
            now=T0,
            rules=LAB,
        )
        add_contact(
            session,
            ContactSpec(
                name="Slow Hosting orders",
                role="order",
                for_provider="Slow Hosting",
                email="orders@slow.test",
            ),
            now=T0,
        )
        add_contact(session, ContactSpec(name="Other Hosting", email="abuse@other.test"), now=T0)
        for path in ("met", "missed", "straddle", "open"):
            seed_notice(session, f"{base}/{path}", received_at=T0, provider_id=hoster.provider_id)
        tokens = {
            role: create_token(session, role=role, now=T0, label=role).token
            for role in ("regulator", "analyst")
        }
        tokens["slow"] = create_token(
            session, role="provider", provider_name="Slow Hosting", now=T0
        ).token
        tokens["other"] = create_token(
            session, role="provider", provider_name="Other Hosting", now=T0
        ).token
    return tokens


def _cases(settings: Settings) -> dict[str, int]:
    with session_scope(settings.database_url) as session:
        rows = session.execute(select(Case.id, Url.url).join(Url, Url.id == Case.url_id))
        return {url.rsplit("/", 1)[1]: case_id for case_id, url in rows}


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.slow
def test_order_delivered_and_judged_from_checks(
    wf_settings: Settings, web: tuple[Site, str], smtp: tuple[Inbox, str]
) -> None:
    site, base = web
    inbox, _ = smtp
    for path in ("met", "missed", "straddle"):
        site.status[f"/{path}"] = 200
    tokens = _world(wf_settings, base)
    run_pass(wf_settings, Clock.at(T0), politeness=POLITE)
    cases = _cases(wf_settings)

    clock = Clock.at(ISSUE)
    app = create_app(wf_settings, clock=clock)
    with TestClient(app, base_url="http://127.0.0.1") as api:
        body = {
            "provider": "Slow Hosting",
            "cases": [cases["met"], cases["missed"], cases["straddle"]],
            "deadline_hours": 12,
            "basis": "Art. 3 Wet bestrijding online kindermisbruik",
        }
        assert (
            api.post("/api/v1/orders", json=body, headers=_bearer(tokens["analyst"])).status_code
            == 403
        )
        assert (
            api.post("/api/v1/orders", json=body, headers=_bearer(tokens["slow"])).status_code
            == 403
        )
        created = api.post("/api/v1/orders", json=body, headers=_bearer(tokens["regulator"]))
        assert created.status_code == 201, created.text
        order = created.json()
        reference = order["reference"]
        assert order["status"] == "open"
        assert order["deadline_at"] == DEADLINE.isoformat().replace("+00:00", "Z")
        assert {c["outcome"] for c in order["cases"]} == {"open"}

    # The workflow runs as `hostwatch run` does: a pass whenever something is due, at least
    # hourly. The order's URLs go down at scripted times.
    now = ISSUE
    while now < T0 + timedelta(hours=24):
        if now >= ISSUE + timedelta(hours=2):
            site.status["/met"] = 404
        clock.set(now)
        report = run_pass(wf_settings, clock, politeness=POLITE)
        if now >= DEADLINE - timedelta(minutes=36):  # after the last check before the deadline
            site.status["/straddle"] = 404
        hourly = now + timedelta(hours=1)
        now = min(report.next_due, hourly) if report.next_due and report.next_due > now else hourly
    mails = inbox.to("orders@slow.test")
    assert len(mails) == 1
    mail = mails[0]
    assert reference in mail["Subject"] and mail["X-Hostwatch-Ticket"] == reference
    text = mail.get_body().get_content()
    for path in ("met", "missed", "straddle"):
        assert f"{base}/{path}" in text
    assert f"{base}/open" not in text
    assert "2024-03-01 23:00 UTC" in text and "2024-03-02 00:00 CET" in text
    assert f"/api/v1/orders/{reference}/acknowledge" in text

    with TestClient(create_app(wf_settings, clock=clock), base_url="http://127.0.0.1") as api:
        mine = api.get("/api/v1/orders", headers=_bearer(tokens["slow"])).json()
        assert [o["reference"] for o in mine] == [reference]
        assert api.get("/api/v1/orders", headers=_bearer(tokens["other"])).json() == []
        assert (
            api.get(f"/api/v1/orders/{reference}", headers=_bearer(tokens["other"])).status_code
            == 404
        )
        assert (
            api.post(
                f"/api/v1/orders/{reference}/acknowledge", headers=_bearer(tokens["other"]), json={}
            ).status_code
            == 404
        )
        ack = api.post(
            f"/api/v1/orders/{reference}/acknowledge", headers=_bearer(tokens["slow"]), json={}
        )
        assert ack.status_code == 200
        objection = api.post(
            f"/api/v1/orders/{reference}/objection",
            headers=_bearer(tokens["slow"]),
            json={"grounds": "the missed URL is a customer's shared hosting"},
        )
        assert objection.status_code == 200
        judged = api.get(f"/api/v1/orders/{reference}", headers=_bearer(tokens["regulator"])).json()

    outcomes = {c["url"].rsplit("/", 1)[1]: c for c in judged["cases"]}
    assert outcomes["met"]["outcome"] == "met"
    assert outcomes["met"]["removed_at"] < judged["deadline_at"]
    assert outcomes["missed"]["outcome"] == "missed"
    assert outcomes["straddle"]["outcome"] == "undetermined"
    assert (
        outcomes["straddle"]["last_online_at"]
        < judged["deadline_at"]
        < outcomes["straddle"]["removed_at"]
    )
    assert judged["status"] == "missed"
    assert judged["delivered_at"] is not None and judged["delivery"] == "smtp accepted (250)"
    assert judged["acknowledged_at"] is not None
    assert judged["objections"][0]["text"].startswith("the missed URL")

    # Checks were denser around the deadline than the 6-hour pace: within the last hour before
    # it and within minutes after it, for every ordered case.
    with session_scope(wf_settings.database_url) as session:
        for path in ("met", "missed", "straddle"):
            times = session.scalars(
                select(Check.checked_at).where(Check.case_id == cases[path])
            ).all()
            assert any(DEADLINE - timedelta(hours=1) < t < DEADLINE for t in times), path
            assert any(DEADLINE <= t <= DEADLINE + timedelta(minutes=5) for t in times), path
        actions = session.scalars(
            select(AuditEvent.action).where(AuditEvent.object_id == reference)
        ).all()
    assert actions == ["order.issued", "order.acknowledged", "order.objection"]

    # The CLI gives the same judgement (the contract's JSON shape).
    runner = CliRunner()
    listed = runner.invoke(
        cli, ["--now", clock.now().isoformat(), "orders", "list", "--format", "json"]
    )
    assert listed.exit_code == 0, listed.output
    rows = json.loads(listed.stdout)
    assert [r["reference"] for r in rows] == [reference]
    assert set(rows[0]) >= {"reference", "provider", "issued_at", "deadline_at", "status", "cases"}
    assert {c["case_id"]: c["outcome"] for c in rows[0]["cases"]} == {
        c["case_id"]: c["outcome"] for c in judged["cases"]
    }
    assert set(rows[0]["cases"][0]) >= {"case_id", "url", "outcome", "removed_at"}
