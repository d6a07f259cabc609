"""Messages: hostile URL text, the .eml outbox, retries, permanent failures, crash recovery."""

from __future__ import annotations

import email
import json
from datetime import timedelta
from email.policy import default as default_policy

import pytest
from ntd_servers import T0, Inbox, Site, read_outbox, seed_notice
from sqlalchemy import select

from hostwatch.attribution.assets import AssetRules
from hostwatch.clock import Clock
from hostwatch.model.case import Case
from hostwatch.model.check import Check
from hostwatch.model.db import session_factory, session_scope
from hostwatch.model.message import Delivery
from hostwatch.model.party import Contact
from hostwatch.settings import Settings, configure
from hostwatch.takedown.cases import open_cases
from hostwatch.takedown.checker import Politeness
from hostwatch.takedown.contacts import ContactSpec, add_contact
from hostwatch.takedown.notify import deliver_pending, plan_messages
from hostwatch.takedown.policy import load_policy
from hostwatch.takedown.send import Transport, parse_smtp_url
from hostwatch.takedown.workflow import run_pass

HOSTER = "abuse@hoster.test"
POLITE = Politeness(per_host=8, min_interval=0)

LAB = AssetRules.allowing(["127.0.0.0/8"])  # the tests' hosters live on loopback


def _hoster(settings: Settings) -> int:
    with session_scope(settings.database_url) as session:
        contact = add_contact(
            session,
            ContactSpec(name="Hoster", network="127.0.0.0/8", email=HOSTER),
            now=T0,
            rules=LAB,
        )
        return int(contact.provider_id or 0)


def test_hostile_urls_neither_break_the_mail_nor_reach_forbidden_addresses(
    wf_settings: Settings, web: tuple[Site, str], smtp: tuple[Inbox, str]
) -> None:
    site, base = web
    inbox, _ = smtp
    provider = _hoster(wf_settings)
    hostile = {
        "crlf": f"{base}/x\r\nBcc: victim@evil.test\r\n\r\n--boundary\r\nContent-Type: text/html",
        "long": f"{base}/" + "A" * 6000,
        "bidi": f"{base}/\u202egnp.exe\u2066",
        "homoglyph": f"{base}/p\u0430ypal",
        "meta": f"{base}/to-metadata",
        "v6": f"{base}/to-v6-loopback",
        "private": f"{base}/to-private",
    }
    site.status["/to-metadata"] = 302
    site.location["/to-metadata"] = "http://169.254.169.254/latest/meta-data/"
    site.status["/to-v6-loopback"] = 301
    site.location["/to-v6-loopback"] = "http://[::1]/admin"
    site.status["/to-private"] = 307
    site.location["/to-private"] = "http://10.0.0.1/"
    with session_scope(wf_settings.database_url) as session:
        for url in hostile.values():
            seed_notice(session, url, received_at=T0, provider_id=provider)
    run_pass(wf_settings, Clock.at(T0), politeness=POLITE)

    assert len(inbox.mails) == 1
    mail = inbox.mails[0]
    assert mail["To"] == HOSTER
    assert mail["Bcc"] is None
    assert mail.get_all("To") == [HOSTER]
    assert "\n" not in str(mail["Subject"]) and "\r" not in str(mail["Subject"])
    parts = list(mail.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain"] + ["application/json"] * 7
    body = parts[0].get_content()
    assert "Bcc:" in body  # visible as text inside one line of the body, not as a header
    assert "%0D%0ABcc:%20victim@evil.test%0D%0A%0D%0A--boundary" in body
    assert "\u202e" not in body and "%E2%80%AE" in body
    assert "%D0%B0" in body  # the Cyrillic look-alike letter is shown for what it is
    assert ("/" + "A" * 6000) in body.replace("=\n", "")
    reported = {json.loads(p.get_content())["url"] for p in parts[1:]}
    assert reported == set(hostile.values())
    for must in ("Article 16", "bona fide", "Test Hotline", "hotline@hotline.test"):
        assert must in body

    with session_scope(wf_settings.database_url) as session:
        checks = session.execute(select(Check.outcome, Check.redirect_chain)).all()
        blocked = [outcome for outcome, _ in checks if outcome == "blocked-by-policy"]
        assert len(blocked) == 3
        states = set(session.scalars(select(Case.state)))
        assert "removed" not in states
    assert all(not path.startswith(("http://169", "http://10.")) for _, path in site.requests)


def test_outbox_when_no_smtp(settings: Settings, web: tuple[Site, str]) -> None:
    site, base = web
    site.status["/p"] = 200
    provider = _hoster(settings)
    with session_scope(settings.database_url) as session:
        seed_notice(session, f"{base}/p", received_at=T0, provider_id=provider)
    run_pass(configure(allow_networks="127.0.0.0/8"), Clock.at(T0), politeness=POLITE)
    mails = read_outbox(settings.outbox_dir)
    assert len(mails) == 1
    assert mails[0]["To"] == HOSTER
    with session_scope(settings.database_url) as session:
        delivery = session.scalar(select(Delivery))
        assert (delivery.transport, delivery.outcome) == ("outbox", "sent")


def test_temporary_failures_are_retried_with_backoff(
    wf_settings: Settings, web: tuple[Site, str], smtp: tuple[Inbox, str]
) -> None:
    site, base = web
    inbox, _ = smtp
    site.status["/p"] = 200
    inbox.answers[HOSTER] = ["451 4.3.0 try again later", "452 4.2.2 mailbox full"]
    provider = _hoster(wf_settings)
    with session_scope(wf_settings.database_url) as session:
        seed_notice(session, f"{base}/p", received_at=T0, provider_id=provider)
    clock = Clock.at(T0)
    for minutes in (0, 1, 5, 10, 15):
        clock.set(T0 + timedelta(minutes=minutes))
        run_pass(wf_settings, clock, politeness=POLITE)
    assert len(inbox.mails) == 1
    with session_scope(wf_settings.database_url) as session:
        attempts = session.execute(
            select(Delivery.attempted_at, Delivery.outcome, Delivery.smtp_code).order_by(
                Delivery.id
            )
        ).all()
        assert [(int((a - T0).total_seconds() // 60), o, c) for a, o, c in attempts] == [
            (0, "tempfail", 451),
            (5, "tempfail", 452),
            (15, "sent", 250),
        ]
        case = session.scalar(select(Case))
        assert case.first_message_at == T0 + timedelta(minutes=15)
        assert case.next_message_at == T0 + timedelta(minutes=15, hours=24)


def test_permanent_failure_counts_on_the_contact(
    wf_settings: Settings, web: tuple[Site, str], smtp: tuple[Inbox, str]
) -> None:
    site, base = web
    inbox, _ = smtp
    site.status["/p"] = 200
    inbox.answers[HOSTER] = ["550 5.1.1 no such user"]
    provider = _hoster(wf_settings)
    with session_scope(wf_settings.database_url) as session:
        seed_notice(session, f"{base}/p", received_at=T0, provider_id=provider)
    run_pass(wf_settings, Clock.at(T0), politeness=POLITE)
    assert inbox.mails == []
    with session_scope(wf_settings.database_url) as session:
        assert session.scalar(select(Delivery.outcome)) == "failed"
        contact = session.scalar(select(Contact).where(Contact.email == HOSTER))
        assert contact.bounce_count == 1
        assert "no such user" in (contact.last_bounce_reason or "")
        case = session.scalar(select(Case))
        assert case.first_message_at is None
        assert case.state != "notified"


def test_an_intent_left_by_a_crash_is_sent_exactly_once(
    wf_settings: Settings, web: tuple[Site, str], smtp: tuple[Inbox, str]
) -> None:
    """A worker that wrote the intent and died before sending: the next pass sends it once."""
    site, base = web
    inbox, _ = smtp
    site.status["/p"] = 200
    provider = _hoster(wf_settings)
    with session_scope(wf_settings.database_url) as session:
        seed_notice(session, f"{base}/p", received_at=T0, provider_id=provider)
    policy = load_policy(wf_settings)
    with session_scope(wf_settings.database_url) as session:
        open_cases(session, now=T0)
    with session_scope(wf_settings.database_url) as session:
        assert len(plan_messages(session, wf_settings, policy, T0)) == 1
    assert inbox.mails == []
    later = T0 + timedelta(minutes=2)
    transport = Transport(wf_settings)
    factory = session_factory(wf_settings.database_url)
    deliver_pending(factory, wf_settings, policy, transport, later)
    deliver_pending(factory, wf_settings, policy, transport, later)
    run_pass(wf_settings, Clock.at(later), politeness=POLITE)
    assert len(inbox.mails) == 1
    with session_scope(wf_settings.database_url) as session:
        assert session.scalar(select(Case.first_message_at)) == later


def test_smtp_url_forms() -> None:
    plain = parse_smtp_url("smtp://127.0.0.1:2525")
    assert (plain.host, plain.port, plain.starttls, plain.implicit_tls) == (
        "127.0.0.1",
        2525,
        False,
        False,
    )
    auth = parse_smtp_url("smtp://us%40er:p%3Ass@mail.test:587?starttls=1")
    assert (auth.username, auth.password, auth.starttls) == ("us@er", "p:ss", True)
    assert parse_smtp_url("smtps://mail.test").port == 465
    with pytest.raises(ValueError, match="scheme"):
        parse_smtp_url("http://mail.test")


def test_mail_headers_survive_a_reparse(wf_settings: Settings) -> None:
    """The e-mail built from a stored message parses back with exactly our headers."""
    from hostwatch.model.message import Message
    from hostwatch.takedown.compose import build_email

    message = Message(
        ticket="HW-20240301-ABCDEF0123",
        to_address=HOSTER,
        kind="notice",
        escalation_level=0,
        subject="[HW] line\r\nInjected: yes \u202e",
        body="http://x/\r\nInjected: no\r\n",
        xarf={"reports": []},
        message_id_header="<hw-20240301-abcdef0123@hotline.test>",
        created_at=T0,
    )
    raw = build_email(message, wf_settings).as_bytes()
    parsed = email.message_from_bytes(raw, policy=default_policy)
    assert parsed["Injected"] is None
    assert sorted(parsed.keys()) == sorted(
        [
            "From",
            "To",
            "Reply-To",
            "Subject",
            "Date",
            "Message-ID",
            "X-Hostwatch-Ticket",
            "MIME-Version",
            "Content-Type",
            "Content-Transfer-Encoding",
        ]
    )
    assert parsed["Reply-To"] == "hotline@hotline.test"
    # a follow-up carries its thread, from our stored Message-IDs
    message.in_reply_to = "<hw-20240229-0000000001@hotline.test>"
    message.references_header = "<hw-20240228-0000000000@hotline.test> " + message.in_reply_to
    parsed = email.message_from_bytes(
        build_email(message, wf_settings).as_bytes(), policy=default_policy
    )
    assert parsed["In-Reply-To"] == message.in_reply_to
    assert str(parsed["References"]).split() == message.references_header.split()
