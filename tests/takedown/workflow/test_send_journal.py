"""A kill between the SMTP server's 250 and our commit must not send the notice twice.

Before the delivery journal, the restarted worker found the message without a delivery (the
transaction had rolled back) and sent it again: the hoster got the same notice twice. Real parts:
aiosmtpd on loopback, the real Transport; the kill is an exception raised right after the real
send returned, inside the delivery transaction, as a SIGKILL there would leave it.
"""

from __future__ import annotations

from datetime import timedelta
from email.message import EmailMessage

import pytest
from ntd_servers import T0, Inbox, Site, seed_notice
from sqlalchemy import func, select

from hostwatch.attribution.assets import AssetRules
from hostwatch.model.case import Case
from hostwatch.model.db import session_factory, session_scope
from hostwatch.model.message import Delivery, Message
from hostwatch.settings import Settings
from hostwatch.takedown.cases import open_cases
from hostwatch.takedown.contacts import ContactSpec, add_contact
from hostwatch.takedown.notify import deliver_pending, plan_messages
from hostwatch.takedown.policy import load_policy
from hostwatch.takedown.send import Attempt, Transport

HOSTER = "abuse@hoster.test"

LAB = AssetRules.allowing(["127.0.0.0/8"])  # the tests' hosters live on loopback


class Killed(BaseException):
    """What the process would get from SIGKILL: nothing after this line runs."""


class DiesAfterTheServerAccepts(Transport):
    def send(self, mail: EmailMessage, ticket: str, at):  # type: ignore[no-untyped-def]
        attempt: Attempt = super().send(mail, ticket, at)
        assert attempt.outcome == "sent"
        raise Killed


def _one_intent(settings: Settings, base: str) -> None:
    with session_scope(settings.database_url) as session:
        contact = add_contact(
            session,
            ContactSpec(name="Hoster", network="127.0.0.0/8", email=HOSTER),
            now=T0,
            rules=LAB,
        )
        seed_notice(session, f"{base}/p", received_at=T0, provider_id=contact.provider_id)
    with session_scope(settings.database_url) as session:
        open_cases(session, now=T0)
    with session_scope(settings.database_url) as session:
        assert len(plan_messages(session, settings, load_policy(settings), T0)) == 1


def test_a_kill_after_the_250_does_not_send_twice(
    wf_settings: Settings, web: tuple[Site, str], smtp: tuple[Inbox, str]
) -> None:
    _, base = web
    inbox, _ = smtp
    _one_intent(wf_settings, base)
    policy = load_policy(wf_settings)
    factory = session_factory(wf_settings.database_url)
    sent_at = T0 + timedelta(minutes=2)
    with pytest.raises(Killed):
        deliver_pending(
            factory, wf_settings, policy, DiesAfterTheServerAccepts(wf_settings), sent_at
        )
    assert len(inbox.mails) == 1
    with session_scope(wf_settings.database_url) as session:
        assert session.scalar(select(func.count()).select_from(Delivery)) == 0  # rolled back

    restarted = T0 + timedelta(minutes=30)  # a new process: a new Transport reads the journal
    totals = deliver_pending(factory, wf_settings, policy, Transport(wf_settings), restarted)
    deliver_pending(factory, wf_settings, policy, Transport(wf_settings), restarted)
    assert totals.sent == 1
    assert len(inbox.mails) == 1, "the notice went out twice"
    message_id = inbox.mails[0]["Message-ID"]
    with session_scope(wf_settings.database_url) as session:
        assert session.scalar(select(Message.message_id_header)) == message_id
        outcomes = session.execute(select(Delivery.outcome, Delivery.attempted_at)).all()
        assert outcomes == [("sent", sent_at)]  # when the server took it, not the restart
        assert session.scalar(select(Case.first_message_at)) == sent_at


def test_without_the_journal_line_the_message_is_sent_again(
    wf_settings: Settings, web: tuple[Site, str], smtp: tuple[Inbox, str]
) -> None:
    """The edge that remains (documented): a kill before the journal line reached the disk is
    indistinguishable from a kill before the 250, and SMTP cannot be asked; it is sent again
    with the same Message-ID."""
    _, base = web
    inbox, _ = smtp
    _one_intent(wf_settings, base)
    policy = load_policy(wf_settings)
    factory = session_factory(wf_settings.database_url)
    dying = DiesAfterTheServerAccepts(wf_settings)
    with pytest.raises(Killed):
        deliver_pending(factory, wf_settings, policy, dying, T0 + timedelta(minutes=2))
    dying.journal.path.unlink()
    deliver_pending(
        factory, wf_settings, policy, Transport(wf_settings), T0 + timedelta(minutes=30)
    )
    assert len(inbox.mails) == 2
    assert inbox.mails[0]["Message-ID"] == inbox.mails[1]["Message-ID"]
