"""Reachability of abuse desks: the figures agree with the deliveries and bounces they count.

A small world on the real workflow: a hoster reached by SMTP (aiosmtpd on loopback) whose
mailbox bounces two notices (one full, one unknown), a hoster reached by an HTTPS webhook that
answers 500 once, a provider nobody can be written to, and answers through the provider feed.
The same document comes out of the function, ``hostwatch metrics reachability --format json``,
the API and the report, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "takedown" / "workflow"))

from ntd_servers import T0, Inbox, Site, seed_notice, smtp, web, wf_settings
from webhook_receiver import SECRET, Receiver, receiver, webhook_cert

from hostwatch.attribution.assets import AssetRules
from hostwatch.cli.app import app as cli
from hostwatch.clock import Clock
from hostwatch.metrics.period import parse_period
from hostwatch.metrics.reachability import mailbox_full, reachability
from hostwatch.model import Case, Contact, Delivery, Message, Provider
from hostwatch.model.db import session_factory, session_scope
from hostwatch.settings import Settings
from hostwatch.takedown.bounces import record_bounces
from hostwatch.takedown.cases import open_cases
from hostwatch.takedown.contacts import ContactSpec, add_contact
from hostwatch.takedown.notify import deliver_pending, plan_messages
from hostwatch.takedown.policy import load_policy
from hostwatch.takedown.provider_answers import acknowledge, mark_resolved
from hostwatch.takedown.send import Transport
from hostwatch.web.app import create_app
from hostwatch.web.auth import create_token

__all__ = ["receiver", "smtp", "web", "webhook_cert", "wf_settings"]
LAB = AssetRules.allowing(["127.0.0.0/8"])
SENT = T0 + timedelta(minutes=5)


def _dsn(message_id: str, status: str, diagnostic: str, n: int) -> str:
    return (
        "From: MAILER-DAEMON@mx.mail.test\r\nTo: hotline@hotline.test\r\n"
        f"Subject: Undelivered\r\nMessage-ID: <dsn-{n}@mx.test>\r\n"
        "Date: Fri, 01 Mar 2024 11:00:00 +0000\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="BB"\r\n'
        "\r\n--BB\r\nContent-Type: text/plain\r\n\r\nNot delivered.\r\n"
        "--BB\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.mail.test\r\n"
        "\r\nFinal-Recipient: rfc822; abuse@mail.test\r\n"
        f"Action: failed\r\nStatus: {status}\r\nDiagnostic-Code: smtp; {diagnostic}\r\n"
        "\r\n--BB\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"Message-ID: {message_id}\r\n\r\n--BB--\r\n"
    )


def _world(settings: Settings, receiver: Receiver, tmp_path: Path) -> dict[str, int]:
    with session_scope(settings.database_url) as session:
        mail = add_contact(
            session,
            ContactSpec(
                name="Mail Hosting",
                network="127.0.0.0/24",
                email="abuse@mail.test",
                group_interval_hours=0,
            ),
            now=T0,
            rules=LAB,
        )
        hook = add_contact(
            session,
            ContactSpec(
                name="Hook Hosting",
                network="127.0.1.0/24",
                channel="webhook",
                webhook_url=receiver.url,
                webhook_secret=SECRET,
            ),
            now=T0,
            rules=LAB,
        )
        silent = Provider(name="Silent Hosting", created_at=T0, updated_at=T0)
        session.add(silent)
        session.flush()
        seed_notice(
            session,
            "http://127.0.1.1/h",
            received_at=T0,
            provider_id=hook.provider_id,
            ip="127.0.1.1",
        )
        seed_notice(
            session, "http://127.0.2.1/s", received_at=T0, provider_id=silent.id, ip="127.0.2.1"
        )
        ids = {"mail": mail.provider_id, "hook": hook.provider_id, "silent": silent.id}
    policy = load_policy(settings)
    for n in range(3):  # one case a minute: three messages to the mail hoster
        at = T0 + timedelta(minutes=n)
        with session_scope(settings.database_url) as session:
            seed_notice(
                session,
                f"http://127.0.0.{n + 1}/m{n}",
                received_at=at,
                provider_id=ids["mail"],
                ip=f"127.0.0.{n + 1}",
            )
        with session_scope(settings.database_url) as session:
            open_cases(session, now=at)
        with session_scope(settings.database_url) as session:
            plan_messages(session, settings, policy, at)
    receiver.script = [500]
    transport = Transport(settings, tls_context=receiver.client_context(), webhook_timeout=2)
    factory = session_factory(settings.database_url)
    deliver_pending(factory, settings, policy, transport, SENT)
    deliver_pending(factory, settings, policy, transport, SENT + timedelta(minutes=5))
    with session_scope(settings.database_url) as session:
        mail_ids = session.scalars(
            select(Message.message_id_header)
            .join(Contact, Contact.id == Message.contact_id)
            .where(Contact.email == "abuse@mail.test")
            .order_by(Message.id)
        ).all()
        assert len(mail_ids) == 3
    folder = tmp_path / "dsn"
    folder.mkdir()
    (folder / "1.eml").write_text(
        _dsn(mail_ids[0], "5.2.2", "552 5.2.2 <abuse@mail.test>: Mailbox full", 1)
    )
    (folder / "2.eml").write_text(
        _dsn(mail_ids[1], "5.1.1", "550 5.1.1 <abuse@mail.test>: User unknown", 2)
    )
    with session_scope(settings.database_url) as session:
        assert record_bounces(session, folder, now=T0 + timedelta(hours=1)).recorded == 2
        cases = session.scalars(select(Case).order_by(Case.id)).all()
        at_mail = [c for c in cases if c.provider_id == ids["mail"]]
        acknowledge(session, at_mail[0], actor="token:1:provider", now=SENT + timedelta(hours=2))
        mark_resolved(session, at_mail[2], actor="token:1:provider", now=SENT + timedelta(hours=6))
        acknowledge(session, at_mail[2], actor="token:1:provider", now=SENT + timedelta(hours=9))
    return ids


def test_figures_agree_with_the_records_and_across_outputs(
    wf_settings: Settings,
    web: tuple[Site, str],
    smtp: tuple[Inbox, str],
    receiver: Receiver,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ids = _world(wf_settings, receiver, tmp_path)
    inbox, _ = smtp
    assert len(inbox.mails) == 3 and len(receiver.requests) == 2
    period = parse_period("2024")
    with session_scope(wf_settings.database_url) as session:
        doc = reachability(session, period)
        deliveries = session.execute(
            select(Contact.provider_id, Delivery.transport, Delivery.outcome, func.count())
            .join(Message, Message.id == Delivery.message_id)
            .join(Contact, Contact.id == Message.contact_id)
            .group_by(Contact.provider_id, Delivery.transport, Delivery.outcome)
        ).all()
    rows = {r["provider"]: r for r in doc["providers"]}
    counted = {(p, t, o): n for p, t, o, n in deliveries}
    mail, hook = rows["Mail Hosting"], rows["Hook Hosting"]
    assert mail["messages"] == 3 == mail["delivered"] == counted[(ids["mail"], "smtp", "sent")]
    assert mail["bounced"] == 2 == counted[(ids["mail"], "smtp", "bounced")]
    assert mail["mailbox_full"] == 1 and mail["failed"] == 0 and mail["webhook_attempts"] == 0
    assert (mail["notified_cases"], mail["answered_cases"]) == (3, 2)
    assert mail["first_response_hours"] == 4.0  # median of 2 h and 6 h (the first answer)
    assert (mail["first_response_hours_min"], mail["first_response_hours_max"]) == (2.0, 6.0)
    assert hook["webhook_attempts"] == 2 == len(receiver.requests)
    assert hook["webhook_failures"] == 1 == counted[(ids["hook"], "webhook", "tempfail")]
    assert (hook["messages"], hook["delivered"], hook["bounced"]) == (1, 1, 0)
    assert hook["answered_cases"] == 0 and hook["first_response_hours"] is None
    assert rows["Silent Hosting"]["no_abuse_contact"] == 1
    assert rows["Silent Hosting"]["messages"] == 0
    assert doc["totals"]["bounced"] == 2 and doc["totals"]["no_abuse_contact"] == 1
    assert (
        reachability(session_factory(wf_settings.database_url)(), parse_period("2023"))["providers"]
        == []
    )  # nothing outside the period

    monkeypatch.setattr(Settings, "clock", lambda self: Clock.at(T0 + timedelta(days=1)))
    out = CliRunner().invoke(
        cli, ["metrics", "reachability", "--period", "2024", "--format", "json"]
    )
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["providers"] == doc["providers"]

    with session_scope(wf_settings.database_url) as session:
        tokens = {
            role: create_token(session, role=role, now=T0, label=role).token
            for role in ("researcher", "analyst")
        }
        tokens["provider"] = create_token(
            session, role="provider", provider_name="Mail Hosting", now=T0
        ).token
    app = create_app(wf_settings, clock=Clock.at(T0 + timedelta(days=1)))
    with TestClient(app, base_url="http://127.0.0.1") as api:
        for role in ("researcher", "analyst"):
            got = api.get(
                "/api/v1/metrics/reachability?period=2024",
                headers={"Authorization": f"Bearer {tokens[role]}"},
            )
            assert got.status_code == 200, got.text
            assert got.json()["providers"] == doc["providers"]
            assert "mail.test" not in got.text and "127.0." not in got.text  # no address
        refused = api.get(
            "/api/v1/metrics/reachability?period=2024",
            headers={"Authorization": f"Bearer {tokens['provider']}"},
        )
        assert refused.status_code == 403


def test_the_report_has_a_reachability_section(
    wf_settings: Settings,
    web: tuple[Site, str],
    smtp: tuple[Inbox, str],
    receiver: Receiver,
    tmp_path: Path,
) -> None:
    from hostwatch.model import Check
    from hostwatch.report.build import ReportOptions
    from hostwatch.report.source import report_from_database

    _world(wf_settings, receiver, tmp_path)
    with session_scope(wf_settings.database_url) as session:  # the checker saw them online
        for case in session.scalars(select(Case)):
            session.add(
                Check(
                    url_id=case.url_id,
                    case_id=case.id,
                    checked_at=T0 + timedelta(minutes=3),
                    outcome="online",
                    online=True,
                    http_status=200,
                )
            )
    sections = {}
    for edition in ("restricted", "public"):
        files = report_from_database(
            wf_settings.database_url,
            parse_period("2024"),
            tmp_path / edition,
            ReportOptions(generated_at=T0 + timedelta(days=1), edition=edition),
            pdf=False,
        )
        html = files.html.read_text()
        assert '<a href="#reachability">' in html  # in the contents too
        section = html.split('<section id="reachability">', 1)[1].split("</section>", 1)[0]
        assert "2 bounced (1 for a full mailbox)" in section
        assert "1 of 2 webhook posts failed" in section
        assert "1 cases had no abuse contact" in section
        sections[edition] = section
    row = sections["restricted"].split("Mail Hosting", 1)[1].split("</tr>", 1)[0]
    assert "<td>2 / 3</td><td>4.0\u00a0h</td>" in row
    # the public edition names no provider below the minimum (10 cases): one row, their sums
    public = sections["public"]
    assert not any(name in public for name in ("Mail Hosting", "Hook Hosting", "Silent Hosting"))
    other = public.split("other providers (each fewer than 10 cases)", 1)[1].split("</tr>", 1)[0]
    assert other.startswith("</td><td>4</td><td>4</td><td>2</td><td>1</td><td>1</td><td>1</td>")
    assert "<td>2 / 4</td><td>–</td>" in other


@pytest.mark.parametrize(
    ("code", "detail", "full"),
    [
        (552, "552 Requested mail action aborted: exceeded storage allocation", True),
        (550, "dsn <x>: 5.2.2 mailbox is full", True),
        (452, "452 4.2.2 The email account that you tried to reach is over quota", True),
        (550, "dsn <x>: 5.1.1 550 5.1.1 User unknown", False),
        (None, "ConnectError: [Errno 111] Connection refused", False),
    ],
)
def test_what_counts_as_a_full_mailbox(code: int | None, detail: str, full: bool) -> None:
    assert mailbox_full(code, detail) is full
