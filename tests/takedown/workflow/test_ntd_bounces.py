"""Bounces (RFC 3464 DSNs) read back from a Maildir, an mbox and a folder, matched and counted."""

from __future__ import annotations

import mailbox
from pathlib import Path

from ntd_servers import T0, Site, read_outbox, seed_notice
from sqlalchemy import select

from hostwatch.attribution.assets import AssetRules
from hostwatch.clock import Clock
from hostwatch.model.db import session_scope
from hostwatch.model.message import Delivery, Message
from hostwatch.model.party import Contact
from hostwatch.settings import Settings, configure
from hostwatch.takedown.bounces import record_bounces
from hostwatch.takedown.checker import Politeness
from hostwatch.takedown.contacts import ContactSpec, add_contact
from hostwatch.takedown.workflow import run_pass

LAB = AssetRules.allowing(["127.0.0.0/8"])  # the tests' hosters live on loopback


def dsn(original_headers: str, *, action: str = "failed", dsn_id: str = "<dsn-1@mx.test>") -> str:
    return (
        "From: MAILER-DAEMON@mx.hoster.test\r\n"
        "To: hotline@hotline.test\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        f"Message-ID: {dsn_id}\r\n"
        "Date: Fri, 01 Mar 2024 10:05:00 +0000\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="BB"\r\n'
        "\r\n--BB\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
        "--BB\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.hoster.test\r\n\r\n"
        "Final-Recipient: rfc822; abuse@hoster.test\r\n"
        f"Action: {action}\r\nStatus: 5.1.1\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 <abuse@hoster.test>: Recipient address rejected\r\n"
        "\r\n--BB\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"{original_headers}\r\n--BB--\r\n"
    )


def test_dsns_from_maildir_mbox_and_folder(
    settings: Settings, web: tuple[Site, str], tmp_path: Path
) -> None:
    site, base = web
    site.status["/p"] = 200
    local = configure(allow_networks="127.0.0.0/8")
    with session_scope(local.database_url) as session:
        hoster = add_contact(
            session,
            ContactSpec(name="H", network="127.0.0.0/8", email="abuse@hoster.test"),
            now=T0,
            rules=LAB,
        )
        seed_notice(session, f"{base}/p", received_at=T0, provider_id=hoster.provider_id)
    run_pass(local, Clock.at(T0), politeness=Politeness(per_host=4, min_interval=0))
    sent = read_outbox(local.outbox_dir)[0]
    headers = (
        f"Message-ID: {sent['Message-ID']}\r\nTo: abuse@hoster.test\r\n"
        f"X-Hostwatch-Ticket: {sent['X-Hostwatch-Ticket']}\r\n"
    )
    maildir = mailbox.Maildir(tmp_path / "Maildir", create=True)
    maildir.add(dsn(headers))
    maildir.add(dsn(headers, action="delayed", dsn_id="<dsn-2@mx.test>"))
    maildir.add("From: someone@x.test\r\nSubject: hello\r\n\r\nnot a bounce\r\n")
    box = mailbox.mbox(tmp_path / "bounces.mbox", create=True)
    only_ticket = dsn(f"Subject: [{sent['X-Hostwatch-Ticket']}] Notice", dsn_id="<dsn-3@mx.test>")
    box.add(only_ticket)
    box.flush()
    folder = tmp_path / "eml"
    folder.mkdir()
    (folder / "unknown.eml").write_text(dsn("Message-ID: <other@x>\r\n", dsn_id="<dsn-4@mx>"))

    with session_scope(local.database_url) as session:
        first = record_bounces(session, tmp_path / "Maildir", now=T0)
        second = record_bounces(session, tmp_path / "bounces.mbox", now=T0)
        third = record_bounces(session, folder, now=T0)
        again = record_bounces(session, tmp_path / "Maildir", now=T0)
    assert (first.read, first.recorded) == (1, 1)
    assert (second.read, second.recorded) == (1, 1)
    assert (third.recorded, len(third.unmatched)) == (0, 1)
    assert (again.recorded, again.duplicates) == (0, 1)
    with session_scope(local.database_url) as session:
        message = session.scalar(select(Message))
        bounces = session.scalars(
            select(Delivery).where(Delivery.message_id == message.id, Delivery.outcome == "bounced")
        ).all()
        assert len(bounces) == 2
        assert {b.smtp_code for b in bounces} == {550}
        contact = session.scalar(select(Contact).where(Contact.email == "abuse@hoster.test"))
        assert contact.bounce_count == 2
        assert "Recipient address rejected" in (contact.last_bounce_reason or "")
