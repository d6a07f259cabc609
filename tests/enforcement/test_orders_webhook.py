"""A removal order reaches a provider whose order contact is a webhook, with proof of delivery.

The regulator issues the order on the command line as the contract says; the order goes to the
provider's registered order desk, an HTTPS receiver on loopback that checks the signature, not
to its abuse mailbox; the order's delivery proof names the webhook. A receiver answering 503
first gets the order on the retry, after the backoff. SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from ntd_servers import Inbox
from regworld import T0, provider_with_cases
from typer.testing import CliRunner
from webhook_receiver import SECRET, Receiver, receiver, webhook_cert

from hostwatch.cli.app import app as cli
from hostwatch.clock import Clock
from hostwatch.model.db import session_factory, session_scope
from hostwatch.settings import Settings
from hostwatch.takedown.contacts import ContactSpec, add_contact
from hostwatch.takedown.notify import deliver_pending
from hostwatch.takedown.policy import load_policy
from hostwatch.takedown.send import Transport

__all__ = ["receiver", "webhook_cert"]


def _world(settings: Settings, receiver: Receiver) -> list[int]:
    _, cases = provider_with_cases(settings.database_url, "Hook Hosting", 2)
    with session_scope(settings.database_url) as session:
        add_contact(
            session,
            ContactSpec(
                name="Hook Hosting order desk",
                role="order",
                for_provider="Hook Hosting",
                channel="webhook",
                webhook_url=receiver.url,
                webhook_secret=SECRET,
            ),
            now=T0,
        )
    return cases


def _issue(cases: list[int], monkeypatch: pytest.MonkeyPatch, receiver: Receiver):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("SSL_CERT_FILE", str(receiver.cert))  # the CLI's default TLS context
    monkeypatch.setattr(Settings, "clock", lambda self: Clock.at(T0))
    args = ["orders", "issue", "--provider", "Hook Hosting", "--deadline-hours", "12"]
    for case in cases:
        args += ["--case", str(case)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    return result


def test_an_order_goes_to_the_webhook_order_desk(
    wf_settings: Settings,
    smtp: tuple[Inbox, str],
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    inbox, _ = smtp
    cases = _world(wf_settings, receiver)
    result = _issue(cases, monkeypatch, receiver)
    reference = result.stdout.strip().splitlines()[-1]
    assert "delivery sent" in result.output
    assert inbox.mails == []  # not to the abuse mailbox
    (request,) = receiver.requests
    assert request.signature_ok
    document = json.loads(request.body)
    assert document["kind"] == "order" and document["ticket"] == reference
    order = document["order"]
    assert order["reference"] == reference and order["provider"] == "Hook Hosting"
    assert order["deadline_at"] == (T0 + timedelta(hours=12)).isoformat().replace("+00:00", "Z")
    assert [c["case_id"] for c in order["cases"]] == sorted(cases)
    assert all(c["url"].startswith("http://hook-") for c in order["cases"])
    assert f"/api/v1/orders/{reference}/acknowledge" in document["text"]
    shown = json.loads(CliRunner().invoke(cli, ["orders", "show", reference]).stdout)
    assert shown["delivery"] == "webhook accepted (200)"
    assert shown["delivered_at"] == T0.isoformat().replace("+00:00", "Z")


def test_an_order_refused_with_503_arrives_on_the_retry(
    wf_settings: Settings,
    smtp: tuple[Inbox, str],
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    receiver.script = [503]
    cases = _world(wf_settings, receiver)
    result = _issue(cases, monkeypatch, receiver)
    reference = result.stdout.strip().splitlines()[-1]
    assert "queued for retry" in result.output
    shown = json.loads(CliRunner().invoke(cli, ["orders", "show", reference]).stdout)
    assert shown["delivery"] == "tempfail (webhook)" and shown["delivered_at"] is None
    factory = session_factory(wf_settings.database_url)
    transport = Transport(wf_settings, tls_context=receiver.client_context())
    policy = load_policy(wf_settings)
    early = deliver_pending(factory, wf_settings, policy, transport, T0 + timedelta(minutes=4))
    assert early.sent == 0 and len(receiver.requests) == 1
    retry = T0 + timedelta(minutes=5)
    assert deliver_pending(factory, wf_settings, policy, transport, retry).sent == 1
    assert len(receiver.requests) == 2 and receiver.requests[1].signature_ok
    shown = json.loads(CliRunner().invoke(cli, ["orders", "show", reference]).stdout)
    assert shown["delivery"] == "webhook accepted (200)"
    assert shown["delivered_at"] == retry.isoformat().replace("+00:00", "Z")
