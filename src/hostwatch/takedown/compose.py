"""Composing notices: the DSA article 16 text, the X-ARF v4 reports, and the e-mail around them.

A notice names the exact URL, explains why it is illegal, identifies the notifier and carries the
good-faith statement (Regulation (EU) 2022/2065, art. 16(2)); it never carries content. Each URL
also goes out as an X-ARF v4 report (JSON attachment) so abuse desks can process it by machine.

Reported URLs are attacker-written text. They appear only in the body and the attachments, and
only in a display form where every character outside printable ASCII (CR, LF, bidi overrides,
look-alike letters) is percent-encoded; the body is transfer-encoded, and headers are built from
our own fixed text, so no URL can add a header or a MIME part.
"""

from __future__ import annotations

import json
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime
from typing import Any

from hostwatch.model.message import Message
from hostwatch.settings import Settings

XARF_VERSION = "4.0.0"
_CSAM = re.compile(r"csa[me]|child|kinderporno|ncii?", re.IGNORECASE)
_XARF_TYPES = {"phishing", "malware", "fraud", "exposed_data", "brand_infringement"}
_UNSAFE_SUBJECT = re.compile(r"[\x00-\x1f\x7f\u0080-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_REASONS = {
    "csam": (
        "The material at this location is child sexual abuse material (CSAM). Its distribution "
        "is a criminal offence under Directive 2011/93/EU and the national criminal law of every "
        "EU member state."
    ),
    "phishing": "The page at this location impersonates a trusted party to obtain credentials.",
    "malware": "The file at this location is malicious software.",
}
_DEFAULT_REASON = (
    "The information at this location is illegal content (classification: {classification})."
)
_LEVEL_NOTE = (
    "You receive this notice as {role} for the location(s) below because the party that hosts "
    "them has not removed them after earlier notices."
)


@dataclass(frozen=True)
class Item:
    """One case as a message lists it."""

    case_id: int
    url: str
    ip: str | None
    classification: str | None
    kind: str  # notice | renotice | reappeared
    first_message_at: datetime | None
    reported_at: datetime | None
    assessed_on: date | None = None
    """The day an analyst of the hotline assessed it (triage); None when no analyst did."""
    reported_by: str | None = None
    """The source of the report the notice rests on."""
    legal_basis: str | None = None
    """The legal basis the analyst gave with the verdict."""


@dataclass(frozen=True)
class Composed:
    subject: str
    body: str
    xarf: dict[str, Any]


def is_csam(classification: str | None) -> bool:
    return bool(classification and _CSAM.search(classification))


def display_url(url: str) -> str:
    """The URL with every character outside printable ASCII percent-encoded (UTF-8)."""
    out = []
    for char in url:
        if " " < char < "\x7f":
            out.append(char)
        else:
            out.extend(f"%{byte:02X}" for byte in char.encode("utf-8", "surrogatepass"))
    return "".join(out)


def safe_subject(text: str, limit: int = 200) -> str:
    """A subject line with no control, line-separator or bidi characters."""
    return _UNSAFE_SUBJECT.sub(" ", text).strip()[:limit]


def new_ticket(now: datetime) -> str:
    return f"HW-{now:%Y%m%d}-{secrets.token_hex(5).upper()}"


def _domain(address: str) -> str:
    return address.rpartition("@")[2] or "hostwatch.invalid"


def _reason(classification: str | None) -> str:
    if is_csam(classification):
        return _REASONS["csam"]
    key = (classification or "").lower()
    return _REASONS.get(key, _DEFAULT_REASON.format(classification=classification or "unspecified"))


def assessment_line(item: Item) -> str | None:
    """How the material was judged, truthfully: by an analyst on a day, or by the source."""
    source = safe_subject(item.reported_by or "", 100)
    if item.assessed_on is not None:
        via = f"; reported by {source}" if source else ""
        return f"Assessment: assessed by the hotline on {item.assessed_on.isoformat()}{via}"
    if source:
        return (
            f"Assessment: reported by {source}, a source whose reports are assessed before "
            "they reach the hotline"
        )
    return None


def xarf_report(item: Item, ticket: str, settings: Settings, now: datetime) -> dict[str, Any]:
    """One X-ARF v4 report for one URL; the CSAM type where the classification is CSAM."""
    party = {
        "org": settings.notifier_name[:200],
        "contact": settings.notifier_email,
        "domain": _domain(settings.notifier_email),
    }
    report: dict[str, Any] = {
        "xarf_version": XARF_VERSION,
        "report_id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{ticket}/{item.case_id}")),
        "timestamp": (item.reported_at or now).isoformat().replace("+00:00", "Z"),
        "reporter": party,
        "sender": party,
        "source_identifier": item.ip or display_url(item.url),
        "category": "content",
        "url": item.url,
        "evidence_source": "user_report",
        "description": f"ticket {ticket}; case {item.case_id}; no content attached",
    }
    if is_csam(item.classification):
        report.update(type="csam", classification="baseline", detection_method="manual_review")
    else:
        kind = (item.classification or "").lower().replace("-", "_")
        report["type"] = kind if kind in _XARF_TYPES else "illegal_content"
    return report


def compose(
    settings: Settings,
    *,
    contact_name: str,
    role: str,
    level: int,
    items: list[Item],
    ticket: str,
    now: datetime,
) -> Composed:
    """The subject, plain-text body and X-ARF reports of one grouped message."""
    csam = any(is_csam(item.classification) for item in items)
    kinds = {item.kind for item in items}
    what = "Re-notice" if kinds == {"renotice"} else "Notice"
    if level > 0:
        what = "Escalated notice"
    subject = safe_subject(
        f"[{ticket}] {what}: {'child sexual abuse material' if csam else 'illegal content'} "
        f"at {len(items)} location{'s' if len(items) != 1 else ''} on your network"
    )
    lines = [
        f"Dear abuse team of {safe_subject(contact_name, 120)},",
        "",
        f"{settings.notifier_name} notifies you, under Article 16 of Regulation (EU) 2022/2065 "
        "(Digital Services Act), of information on your service that it considers illegal "
        "content, and asks you to remove it or disable access to it expeditiously.",
        "",
        f"Ticket: {ticket} (please quote it in any reply)",
    ]
    if level > 0:
        lines += ["", _LEVEL_NOTE.format(role=role)]
    lines += ["", f"Exact location(s) ({len(items)}):"]
    for number, item in enumerate(items, 1):
        lines.append(f"{number:>3}. {display_url(item.url)}")
        if item.ip:
            lines.append(f"     IP address at notice: {item.ip}")
        if item.kind == "renotice" and item.first_message_at:
            first = item.first_message_at.isoformat().replace("+00:00", "Z")
            lines.append(f"     Still reachable; first notified {first}")
        elif item.kind == "reappeared":
            lines.append("     Reachable again after it had been removed")
        lines.append(f"     Reason: {_reason(item.classification)}")
        if item.legal_basis:
            lines.append(f"     Legal basis: {safe_subject(item.legal_basis, 2000)}")
        if judged := assessment_line(item):
            lines.append(f"     {judged}")
    lines += [
        "",
        f"Notifier: {settings.notifier_name} <{settings.notifier_email}>",
        "",
        f"Statement: {settings.notifier_name} confirms its bona fide belief that the information "
        "and allegations in this notice are accurate and complete.",
        "",
        "This notice contains no copy of the material. Each location is attached as an X-ARF v4 "
        "report (JSON).",
    ]
    reports = [xarf_report(item, ticket, settings, now) for item in items]
    return Composed(subject=subject, body="\n".join(lines) + "\n", xarf={"reports": reports})


def message_id(ticket: str, settings: Settings) -> str:
    return f"<{ticket.lower()}@{_domain(settings.notifier_email)}>"


def build_email(message: Message, settings: Settings) -> EmailMessage:
    """The e-mail for a stored message; the same bytes on every retry (same Message-ID)."""
    mail = EmailMessage(policy=SMTP)
    mail["From"] = Address(
        display_name=safe_subject(settings.notifier_name, 100),
        addr_spec=settings.notifier_email,
    )
    mail["To"] = Address(addr_spec=message.to_address)
    mail["Subject"] = safe_subject(message.subject)
    mail["Date"] = format_datetime(message.created_at)
    mail["Message-ID"] = message.message_id_header
    mail["X-Hostwatch-Ticket"] = message.ticket
    mail.set_content(message.body, subtype="plain", charset="utf-8", cte="quoted-printable")
    for number, report in enumerate((message.xarf or {}).get("reports", []), 1):
        mail.add_attachment(
            json.dumps(report, ensure_ascii=True, indent=2).encode(),
            maintype="application",
            subtype="json",
            filename=f"xarf-{message.ticket}-{number}.json",
        )
    return mail
