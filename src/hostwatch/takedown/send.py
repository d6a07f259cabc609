"""Handing a message to its channel: SMTP, the ``.eml`` outbox on the embedded default, or a
contact's HTTPS webhook (:mod:`hostwatch.takedown.webhook`).

Every attempt is reported back as an ``Attempt`` so the caller records it as a Delivery. SMTP
answers in the 4xx range, dropped connections and timeouts are temporary (retried later with
backoff); 5xx answers are permanent. The outbox writes ``<ticket>.eml`` atomically, so writing a
message twice leaves one file.

Once the server has answered ``250`` to the DATA the message is the server's: the acceptance is
noted in the :class:`~hostwatch.takedown.delivery_journal.DeliveryJournal` at once (so a crash
before the caller's commit does not send it again), and a connection that breaks during QUIT no
longer turns an accepted message into a temporary failure that is sent again. A webhook's 2xx
is journalled the same way, before the caller's commit.
"""

from __future__ import annotations

import logging
import os
import smtplib
import ssl
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from hostwatch.model.message import Message
from hostwatch.model.party import Contact
from hostwatch.settings import Settings
from hostwatch.takedown import webhook
from hostwatch.takedown.delivery_journal import DeliveryJournal

MAX_ATTEMPTS = 8
log = logging.getLogger(__name__)
_BASE_BACKOFF = timedelta(minutes=5)
_MAX_BACKOFF = timedelta(hours=6)


class TransportError(ValueError):
    """The SMTP URL in the settings cannot be used; the message says why."""


@dataclass(frozen=True)
class Attempt:
    transport: str  # smtp | outbox | webhook | feed
    outcome: str  # sent | tempfail | failed
    code: int | None = None  # the SMTP reply code, or the webhook's HTTP status
    detail: str | None = None


@dataclass(frozen=True)
class SmtpTarget:
    host: str
    port: int
    implicit_tls: bool
    starttls: bool
    username: str | None
    password: str | None


def backoff(attempt: int) -> timedelta:
    """Wait after the ``attempt``-th temporary failure (1-based): 5 min doubling, at most 6 h."""
    return min(_BASE_BACKOFF * (2 ** max(0, attempt - 1)), _MAX_BACKOFF)


def parse_smtp_url(url: str) -> SmtpTarget:
    """``smtp://[user:pass@]host:port[?starttls=1]`` or ``smtps://...`` (TLS from the start)."""
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps"):
        raise TransportError(f"SMTP URL scheme must be smtp or smtps, not {parts.scheme!r}")
    if not parts.hostname:
        raise TransportError("SMTP URL has no host")
    query = parse_qs(parts.query)
    implicit = parts.scheme == "smtps"
    try:
        port = parts.port or (465 if implicit else 25)
    except ValueError as exc:
        raise TransportError(f"SMTP URL port: {exc}") from exc
    flag = query.get("starttls", ["0"])[-1].lower()
    return SmtpTarget(
        host=parts.hostname,
        port=port,
        implicit_tls=implicit,
        starttls=not implicit and flag in ("1", "true", "yes"),
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
    )


class Transport:
    """Sends e-mails as the settings say (SMTP when ``smtp_url`` is set, else the outbox), and
    posts to webhooks; ``tls_context`` verifies both, ``webhook_timeout`` bounds a post."""

    def __init__(
        self,
        settings: Settings,
        *,
        tls_context: ssl.SSLContext | None = None,
        webhook_timeout: float = 30.0,
    ) -> None:
        self.settings = settings
        self.target = parse_smtp_url(settings.smtp_url) if settings.smtp_url else None
        self.tls_context = tls_context or ssl.create_default_context()
        self.webhook_timeout = webhook_timeout
        self.journal = DeliveryJournal.in_state_dir(settings.state_dir)

    @property
    def name(self) -> str:
        return "smtp" if self.target else "outbox"

    def send(self, mail: EmailMessage, ticket: str, at: datetime) -> Attempt:
        """Hand ``mail`` over; an SMTP acceptance is journalled at ``at`` before this returns."""
        if self.target is None:
            return self._to_outbox(mail, ticket)
        return self._to_smtp(mail, self.target, at)

    def post_webhook(
        self, contact: Contact, body: bytes, message: Message, at: datetime
    ) -> Attempt:
        """Post ``body`` to the contact's webhook; a 2xx is journalled before this returns."""
        outcome, status, detail = webhook.post(
            contact, body, message, at, tls_context=self.tls_context, timeout=self.webhook_timeout
        )
        if outcome == "sent":
            self._journal_acceptance(message.message_id_header, at, "webhook")
        return Attempt("webhook", outcome, status, detail)

    def accepted_before(self, message_id: str) -> datetime | None:
        """When a server or webhook accepted this Message-ID before a crash, if one did."""
        return self.journal.accepted_at(message_id)

    def _to_outbox(self, mail: EmailMessage, ticket: str) -> Attempt:
        folder = Path(self.settings.outbox_dir)
        folder.mkdir(parents=True, exist_ok=True)
        final = folder / f"{ticket}.eml"
        temporary = folder / f".{ticket}.eml.tmp"
        try:
            temporary.write_bytes(mail.as_bytes())
            os.replace(temporary, final)
        except OSError as exc:
            return Attempt("outbox", "tempfail", None, f"{final}: {exc}")
        return Attempt("outbox", "sent", None, str(final))

    def _to_smtp(self, mail: EmailMessage, target: SmtpTarget, at: datetime) -> Attempt:
        try:
            if target.implicit_tls:
                client: smtplib.SMTP = smtplib.SMTP_SSL(
                    target.host, target.port, timeout=30, context=self.tls_context
                )
            else:
                client = smtplib.SMTP(target.host, target.port, timeout=30)
        except (smtplib.SMTPException, OSError) as exc:
            return Attempt("smtp", "tempfail", None, f"{type(exc).__name__}: {exc}"[:500])
        try:
            if target.starttls:
                client.starttls(context=self.tls_context)
            if target.username:
                client.login(target.username, target.password or "")
            client.send_message(mail)
        except smtplib.SMTPRecipientsRefused as exc:
            code, text = next(iter(exc.recipients.values()))
            return _answer(code, text)
        except smtplib.SMTPResponseException as exc:
            return _answer(exc.smtp_code, exc.smtp_error)
        except (smtplib.SMTPException, OSError) as exc:
            return Attempt("smtp", "tempfail", None, f"{type(exc).__name__}: {exc}"[:500])
        else:  # the 250: journalled before QUIT and before the caller's commit
            self._journal_acceptance(str(mail["Message-ID"]), at, "smtp")
        finally:
            _quit(client)
        return Attempt("smtp", "sent", 250, None)

    def _journal_acceptance(self, message_id: str, at: datetime, transport: str) -> None:
        try:
            self.journal.accepted(message_id, at, transport)
        except OSError:  # the database record still follows; only the crash window reopens
            log.warning("delivery journal %s not written", self.journal.path, exc_info=True)


def _quit(client: smtplib.SMTP) -> None:
    """End the session; a server that drops the line here changes nothing already answered."""
    try:
        client.quit()
    except (smtplib.SMTPException, OSError):
        client.close()


def _answer(code: int, text: bytes | str) -> Attempt:
    detail = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    outcome = "tempfail" if 400 <= code < 500 else "failed"
    return Attempt("smtp", outcome, code, detail[:500])
