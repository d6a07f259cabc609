"""Reading delivery status notifications (RFC 3464) back, and recording them on the contact.

An accepted SMTP hand-off is not a delivered notice: the receiving side may bounce it later. The
bounces land in the notifier's mailbox; this module reads them from a Maildir, an mbox file, a
folder of ``.eml`` files or one file, matches each to the message it reports on (by the original
Message-ID, then the ticket number), and records a ``bounced`` Delivery and the contact's bounce
count. Reading the same mailbox again records nothing twice.
"""

from __future__ import annotations

import email
import mailbox
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from email.message import Message as EmailMessage
from email.policy import compat32
from email.utils import parsedate_to_datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from hostwatch.model.audit import record
from hostwatch.model.message import Delivery, Message
from hostwatch.model.party import Contact

_TICKET = re.compile(r"HW-\d{8}-[0-9A-F]{10}")
_MSGID = re.compile(r"<[^<>\s]{1,250}>")


@dataclass(frozen=True)
class Bounce:
    """One failed recipient reported by one DSN."""

    dsn_id: str
    message_id_header: str | None
    ticket: str | None
    recipient: str | None
    status: str | None
    diagnostic: str | None
    arrived_at: datetime | None


@dataclass
class BounceReport:
    read: int = 0
    recorded: int = 0
    duplicates: int = 0
    unmatched: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _sources(path: Path) -> Iterator[tuple[str, bytes]]:
    if path.is_dir() and (path / "cur").is_dir() and (path / "new").is_dir():
        box = mailbox.Maildir(path, factory=None, create=False)
        for key in box.iterkeys():
            yield f"{path}:{key}", box.get_bytes(key)
    elif path.is_dir():
        for item in sorted(path.glob("*.eml")):
            yield str(item), item.read_bytes()
    elif path.is_file() and path.read_bytes()[:5] == b"From ":
        for key, entry in mailbox.mbox(path, create=False).items():
            yield f"{path}:{key}", entry.as_bytes()
    elif path.is_file():
        yield str(path), path.read_bytes()
    else:
        raise FileNotFoundError(f"{path}: no Maildir, mbox, folder or file there")


def _original_headers(report: EmailMessage) -> EmailMessage | None:
    for part in report.walk():
        ctype = part.get_content_type()
        if ctype == "message/rfc822":
            payload = part.get_payload()
            return payload[0] if isinstance(payload, list) and payload else None
        if ctype == "text/rfc822-headers":
            text = part.get_payload(decode=True) or b""
            return email.message_from_bytes(text, policy=compat32)
    return None


def parse_dsn(raw: bytes, where: str) -> list[Bounce]:
    """The failed recipients a DSN reports; [] for mail that is not a failure report."""
    mail = email.message_from_bytes(raw, policy=compat32)
    if mail.get_content_type() != "multipart/report":
        return []
    if (mail.get_param("report-type") or "").lower() != "delivery-status":
        return []
    status_part = next(
        (p for p in mail.walk() if p.get_content_type() == "message/delivery-status"), None
    )
    if status_part is None:
        return []
    blocks = status_part.get_payload()
    blocks = blocks if isinstance(blocks, list) else []
    original = _original_headers(mail)
    message_id = None
    ticket = None
    if original is not None:
        found = _MSGID.search(str(original.get("Message-ID", "")))
        message_id = found.group(0) if found else None
        ticket = str(original.get("X-Hostwatch-Ticket", "")).strip() or None
    if ticket is None:
        text = str(mail.get("Subject", "")) + raw.decode("ascii", "replace")
        found = _TICKET.search(text)
        ticket = found.group(0) if found else None
    arrived = None
    if date := mail.get("Date"):
        try:
            arrived = parsedate_to_datetime(str(date))
        except (TypeError, ValueError):
            arrived = None
    dsn_id = str(mail.get("Message-ID", "")).strip() or where
    bounces = []
    for block in blocks[1:]:
        action = str(block.get("Action", "")).strip().lower()
        if action != "failed":
            continue
        recipient = str(block.get("Final-Recipient", "")).partition(";")[2].strip() or None
        bounces.append(
            Bounce(
                dsn_id=dsn_id,
                message_id_header=message_id,
                ticket=ticket,
                recipient=recipient,
                status=str(block.get("Status", "")).strip() or None,
                diagnostic=" ".join(str(block.get("Diagnostic-Code", "")).split())[:500] or None,
                arrived_at=arrived if arrived and arrived.tzinfo else None,
            )
        )
    return bounces


def _match(session: Session, bounce: Bounce) -> Message | None:
    if bounce.message_id_header:
        found = session.scalar(
            select(Message).where(Message.message_id_header == bounce.message_id_header)
        )
        if found is not None:
            return found
    if bounce.ticket:
        return session.scalar(select(Message).where(Message.ticket == bounce.ticket))
    return None


def record_bounces(session: Session, path: Path, *, now: datetime) -> BounceReport:
    """Read every DSN under ``path`` and record the failures on their messages and contacts."""
    report = BounceReport()
    for where, raw in _sources(path):
        try:
            bounces = parse_dsn(raw, where)
        except Exception as exc:  # a broken mail must not stop the rest of the mailbox
            report.problems.append(f"{where}: unreadable DSN ({type(exc).__name__}: {exc})")
            continue
        for bounce in bounces:
            report.read += 1
            message = _match(session, bounce)
            if message is None:
                report.unmatched.append(f"{where}: no message for {bounce.message_id_header}")
                continue
            detail = f"dsn {bounce.dsn_id}: {bounce.status or '?'} {bounce.diagnostic or ''}"
            seen = session.scalar(
                select(Delivery.id).where(
                    Delivery.message_id == message.id,
                    Delivery.outcome == "bounced",
                    Delivery.detail == detail.strip()[:2000],
                )
            )
            if seen is not None:
                report.duplicates += 1
                continue
            at = bounce.arrived_at or now
            session.add(
                Delivery(
                    message_id=message.id,
                    attempted_at=at,
                    transport="smtp",
                    outcome="bounced",
                    smtp_code=_code(bounce.diagnostic),
                    detail=detail.strip()[:2000],
                )
            )
            contact = session.get(Contact, message.contact_id) if message.contact_id else None
            if contact is not None:
                contact.bounce_count += 1
                contact.last_bounce_at = at
                contact.last_bounce_reason = detail.strip()[:500]
            record(
                session,
                at=now,
                actor="bounces",
                action="message.bounced",
                object_type="message",
                object_id=message.id,
                reason=detail.strip()[:500],
                data={"ticket": message.ticket, "recipient": bounce.recipient},
            )
            report.recorded += 1
    session.flush()
    return report


def _code(diagnostic: str | None) -> int | None:
    """The SMTP reply code in a ``Diagnostic-Code: smtp; 550 ...`` field, if there is one."""
    found = re.search(r"smtp;\s*([245]\d\d)\b", diagnostic or "", re.IGNORECASE)
    return int(found.group(1)) if found else None
