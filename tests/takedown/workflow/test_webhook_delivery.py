"""Notices delivered to a provider's HTTPS webhook on loopback, recorded like mails.

Real parts: an aiohttp receiver with TLS (a self-signed certificate the client is given as its
CA), the real Transport and delivery loop, SQLite and PostgreSQL. The receiver checks every
signature with the contact's secret, as a provider's desk would.
"""

from __future__ import annotations

import json
import socket
from datetime import timedelta

import pytest
from ntd_servers import T0, Inbox, Site, seed_notice
from sqlalchemy import select
from webhook_receiver import SECRET, Receiver, receiver, signature_ok, webhook_cert

from hostwatch.attribution.assets import AssetRules
from hostwatch.model.audit import AuditEvent
from hostwatch.model.case import Case
from hostwatch.model.db import session_factory, session_scope
from hostwatch.model.message import Delivery, Message
from hostwatch.model.party import Contact
from hostwatch.settings import Settings
from hostwatch.takedown.cases import open_cases
from hostwatch.takedown.contacts import ContactError, ContactSpec, add_contact
from hostwatch.takedown.notify import deliver_pending, plan_messages
from hostwatch.takedown.policy import load_policy
from hostwatch.takedown.send import Attempt, Transport

__all__ = ["receiver", "webhook_cert"]
LAB = AssetRules.allowing(["127.0.0.0/8"])
SENT_AT = T0 + timedelta(minutes=2)


class Killed(BaseException):
    """What the process would get from SIGKILL: nothing after this line runs."""


def _intent(settings: Settings, base: str, spec: ContactSpec) -> int:
    """One planned message for one case at a hoster reached as ``spec`` says."""
    with session_scope(settings.database_url) as session:
        contact = add_contact(session, spec, now=T0, rules=LAB)
        seed_notice(session, f"{base}/p", received_at=T0, provider_id=contact.provider_id)
    with session_scope(settings.database_url) as session:
        open_cases(session, now=T0)
    with session_scope(settings.database_url) as session:
        (message_id,) = plan_messages(session, settings, load_policy(settings), T0)
    return message_id


def _hook(url: str) -> ContactSpec:
    return ContactSpec(
        name="Desk Hosting",
        network="127.0.0.0/8",
        channel="webhook",
        webhook_url=url,
        webhook_secret=SECRET,
    )


def _deliver(settings: Settings, receiver: Receiver, at, transport=None):  # type: ignore[no-untyped-def]
    transport = transport or Transport(
        settings, tls_context=receiver.client_context(), webhook_timeout=1.0
    )
    return deliver_pending(
        session_factory(settings.database_url), settings, load_policy(settings), transport, at
    )


def _deliveries(settings: Settings) -> list[tuple[str, str, int | None, object]]:
    with session_scope(settings.database_url) as session:
        return [
            (d.transport, d.outcome, d.smtp_code, d.attempted_at)
            for d in session.scalars(select(Delivery).order_by(Delivery.id))
        ]


def test_a_signed_json_notice_arrives_and_counts_as_sent(
    wf_settings: Settings, web: tuple[Site, str], smtp: tuple[Inbox, str], receiver: Receiver
) -> None:
    _, base = web
    inbox, _ = smtp
    _intent(wf_settings, base, _hook(receiver.url))
    totals = _deliver(wf_settings, receiver, SENT_AT)
    assert totals.sent == 1
    assert inbox.mails == []  # a webhook contact gets no e-mail
    (request,) = receiver.requests
    assert request.signature_ok
    assert not signature_ok(
        "another-secret-of-sufficient-length",
        request.headers["X-Hostwatch-Signature"],
        request.body,
    )
    assert request.headers["X-Hostwatch-Signature"].startswith(f"t={int(SENT_AT.timestamp())},")
    document = json.loads(request.body)
    assert document["kind"] == "notice"
    assert document["delivery_id"] == request.headers["Idempotency-Key"]
    (report,) = document["reports"]
    assert report["url"] == f"{base}/p" and report["type"] == "csam"
    assert _deliveries(wf_settings) == [("webhook", "sent", 200, SENT_AT)]
    with session_scope(wf_settings.database_url) as session:
        case = session.scalars(select(Case)).one()
        assert case.state == "notified" and case.first_message_at == SENT_AT
        message = session.scalars(select(Message)).one()
        assert message.to_address == receiver.url
        assert (
            session.scalar(select(AuditEvent.action).where(AuditEvent.object_type == "message"))
            == "message.sent"
        )


def test_a_500_is_retried_after_the_backoff_then_a_200_sends(
    wf_settings: Settings, web: tuple[Site, str], receiver: Receiver
) -> None:
    _, base = web
    receiver.script = [500, 503]
    _intent(wf_settings, base, _hook(receiver.url))
    assert _deliver(wf_settings, receiver, SENT_AT).tempfail == 1
    assert _deliver(wf_settings, receiver, SENT_AT + timedelta(minutes=4)).tempfail == 0
    assert len(receiver.requests) == 1  # 4 minutes < the first backoff of 5
    second = SENT_AT + timedelta(minutes=5)
    assert _deliver(wf_settings, receiver, second).tempfail == 1
    assert _deliver(wf_settings, receiver, second + timedelta(minutes=9)).sent == 0
    third = second + timedelta(minutes=10)  # the backoff doubles
    assert _deliver(wf_settings, receiver, third).sent == 1
    assert len(receiver.requests) == 3
    assert len({r.body for r in receiver.requests}) == 1  # the same JSON every time
    assert len({r.headers["Idempotency-Key"] for r in receiver.requests}) == 1
    assert all(r.signature_ok for r in receiver.requests)
    assert _deliveries(wf_settings) == [
        ("webhook", "tempfail", 500, SENT_AT),
        ("webhook", "tempfail", 503, second),
        ("webhook", "sent", 200, third),
    ]
    with session_scope(wf_settings.database_url) as session:
        assert session.scalars(select(Case)).one().first_message_at == third


def test_a_4xx_is_permanent(
    wf_settings: Settings, web: tuple[Site, str], receiver: Receiver
) -> None:
    _, base = web
    receiver.script = [403]
    _intent(wf_settings, base, _hook(receiver.url))
    assert _deliver(wf_settings, receiver, SENT_AT).failed == 1
    assert _deliver(wf_settings, receiver, SENT_AT + timedelta(hours=7)).failed == 0
    assert len(receiver.requests) == 1
    assert _deliveries(wf_settings) == [("webhook", "failed", 403, SENT_AT)]
    with session_scope(wf_settings.database_url) as session:
        contact = session.scalars(select(Contact).where(Contact.channel == "webhook")).one()
        assert contact.bounce_count == 1 and "403" in (contact.last_bounce_reason or "")
        assert session.scalars(select(Case)).one().first_message_at is None


def test_a_receiver_that_is_down_or_slow_is_a_temporary_failure(
    wf_settings: Settings, web: tuple[Site, str], receiver: Receiver
) -> None:
    _, base = web
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    _intent(wf_settings, base, _hook(f"https://127.0.0.1:{port}/hook"))
    assert _deliver(wf_settings, receiver, SENT_AT).tempfail == 1
    with session_scope(wf_settings.database_url) as session:
        (delivery,) = session.scalars(select(Delivery))
        assert delivery.outcome == "tempfail" and "ConnectError" in (delivery.detail or "")
        # the desk comes back at the real receiver, which answers too slowly at first
        contact = session.scalars(select(Contact).where(Contact.channel == "webhook")).one()
        contact.webhook_url = receiver.url
    receiver.delay = 2.0
    assert _deliver(wf_settings, receiver, SENT_AT + timedelta(minutes=5)).tempfail == 1
    receiver.delay = 0.0
    assert _deliver(wf_settings, receiver, SENT_AT + timedelta(minutes=15)).sent == 1
    outcomes = [(t, o) for t, o, _, _ in _deliveries(wf_settings)]
    assert outcomes == [("webhook", "tempfail")] * 2 + [("webhook", "sent")]
    assert "ReadTimeout" in str(_detail(wf_settings, 1))


def _detail(settings: Settings, index: int) -> str | None:
    with session_scope(settings.database_url) as session:
        return session.scalars(select(Delivery.detail).order_by(Delivery.id)).all()[index]


def test_an_unverifiable_certificate_is_not_posted_to(
    wf_settings: Settings, web: tuple[Site, str], receiver: Receiver
) -> None:
    import ssl

    _, base = web
    _intent(wf_settings, base, _hook(receiver.url))
    transport = Transport(wf_settings, tls_context=ssl.create_default_context())
    assert _deliver(wf_settings, receiver, SENT_AT, transport).tempfail == 1
    assert receiver.requests == []
    assert "CERTIFICATE_VERIFY_FAILED" in str(_detail(wf_settings, 0))


class DiesAfterTheReceiverAccepts(Transport):
    def post_webhook(self, contact, body, message, at) -> Attempt:  # type: ignore[no-untyped-def]
        attempt = super().post_webhook(contact, body, message, at)
        assert attempt.outcome == "sent"
        raise Killed


def test_a_kill_between_the_2xx_and_the_commit_does_not_post_twice(
    wf_settings: Settings, web: tuple[Site, str], receiver: Receiver
) -> None:
    _, base = web
    _intent(wf_settings, base, _hook(receiver.url))
    dying = DiesAfterTheReceiverAccepts(wf_settings, tls_context=receiver.client_context())
    with pytest.raises(Killed):
        _deliver(wf_settings, receiver, SENT_AT, dying)
    assert len(receiver.requests) == 1
    assert _deliveries(wf_settings) == []  # rolled back
    restarted = SENT_AT + timedelta(minutes=30)
    assert _deliver(wf_settings, receiver, restarted).sent == 1
    assert _deliver(wf_settings, receiver, restarted).sent == 0
    assert len(receiver.requests) == 1
    assert _deliveries(wf_settings) == [("webhook", "sent", None, SENT_AT)]


def test_a_feed_only_contact_gets_no_push(
    wf_settings: Settings, web: tuple[Site, str], smtp: tuple[Inbox, str], receiver: Receiver
) -> None:
    _, base = web
    inbox, _ = smtp
    spec = ContactSpec(name="Feed Hosting", network="127.0.0.0/8", channel="feed")
    _intent(wf_settings, base, spec)
    assert _deliver(wf_settings, receiver, SENT_AT).sent == 1
    assert inbox.mails == [] and receiver.requests == []
    assert _deliveries(wf_settings) == [("feed", "sent", None, SENT_AT)]


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"webhook_url": "http://127.0.0.1/hook"}, "https"),
        ({"webhook_url": "https://user:pw@desk.test/hook"}, "credentials"),
        ({"webhook_secret": "short"}, "16 to 200"),
        ({"channel": "pigeon"}, "channel"),
        ({"channel": "email", "email": "a@b.test"}, "needs channel webhook"),
    ],
)
def test_bad_webhook_entries_are_refused(
    wf_settings: Settings, change: dict[str, str], error: str
) -> None:
    spec = _hook("https://desk.test/hook").__dict__ | change
    with (
        session_scope(wf_settings.database_url) as session,
        pytest.raises(ContactError, match=error),
    ):
        add_contact(session, ContactSpec(**spec), now=T0, rules=LAB)


def test_the_secret_is_shown_once_and_never_listed(
    settings: Settings,
    tmp_path,
    monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    from typer.testing import CliRunner

    from hostwatch.cli.app import app as cli

    monkeypatch.setenv("HOSTWATCH_ALLOW_NETWORKS", "127.0.0.0/8")
    runner = CliRunner()
    added = runner.invoke(
        cli,
        ["contacts", "add", "--name", "Desk", "--network", "127.0.0.0/8", "--channel",
         "webhook", "--webhook-url", "https://desk.test/hook", "--new-secret"],
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    secret = added.output.split("shown once): ", 1)[1].split()[0]
    assert len(secret) >= 32
    csv_file = tmp_path / "contacts.csv"
    csv_file.write_text(
        "name,network,channel,webhook_url,webhook_secret\n"
        f"Other,127.1.0.0/16,webhook,https://other.test/h,{SECRET}\n"
        "Broken,127.2.0.0/16,webhook,http://plain.test/h,0123456789abcdef\n"
    )
    imported = runner.invoke(cli, ["contacts", "import", str(csv_file)])
    assert "1 contacts imported, 1 rejected" in imported.output
    assert "contacts.csv:3: webhook URL must be https" in imported.output
    listed = runner.invoke(cli, ["contacts", "list", "--format", "json"]).output
    table = runner.invoke(cli, ["contacts", "list"], env={"COLUMNS": "300"}).output
    rows = {r["name"]: r for r in json.loads(listed)}
    assert rows["Desk"]["channel"] == "webhook"
    assert rows["Other"]["webhook_url"] == "https://other.test/h"
    with session_scope(settings.database_url) as session:
        audit = json.dumps([e.data for e in session.scalars(select(AuditEvent))])
        stored = session.scalars(select(Contact.webhook_secret).order_by(Contact.id)).all()
    assert stored == [secret, SECRET]
    for text in (listed, table, audit):
        assert secret not in text and SECRET not in text
