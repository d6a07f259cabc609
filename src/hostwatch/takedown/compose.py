"""Composing notices: the DSA article 16 text per recipient role and language, the X-ARF v4
reports, and the e-mail around them.

A notice names the exact URL, explains why it is illegal, identifies the notifier and carries the
good-faith statement (Regulation (EU) 2022/2065, art. 16(2)); it never carries content. For an
abuse desk to act on it in a minute it also says, per URL, when hostwatch last saw it online,
which prefix, origin AS and WHOIS object make it the recipient's network, the deadline that
applies and how to reply or dispute. Each URL also goes out as an X-ARF v4 report (JSON
attachment) so abuse desks can process it by machine.

The text is English in the code and translated through the ``notices`` gettext catalogue
(:mod:`hostwatch.i18n`) into the contact's language; a missing catalogue or message falls back
to English.

Reported URLs are attacker-written text. They appear only in the body and the attachments, and
only in a display form where every character outside printable ASCII (CR, LF, bidi overrides,
look-alike letters) is percent-encoded; the body is transfer-encoded, and headers are built from
our own fixed text, so no URL can add a header or a MIME part.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime
from typing import Any

from hostwatch.harmonisation import xarf_type
from hostwatch.i18n import translations
from hostwatch.model.message import Message
from hostwatch.settings import Settings

DOMAIN = "notices"
XARF_VERSION = "4.0.0"
_CSAM = re.compile(r"csa[me]|child|kinderporno|ncii?", re.IGNORECASE)
_UNSAFE_SUBJECT = re.compile(r"[\x00-\x1f\x7f\u0080-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
FEED_PATH = "/api/v1/feed"
"""The provider feed's route (``web/feed.py`` under the API prefix), linked from every notice."""


def _(text: str) -> str:
    """Marks an English text for the catalogue; it is translated where it is used."""
    return text


# Each role is told why the notice reaches it: its place in the chain, in its own words.
_ROLE_LINES = {
    "hoster": _(
        "You receive this notice as the party that hosts the locations below: the WHOIS object "
        "named with each location assigns its address to you."
    ),
    "reseller": _(
        "You receive this notice as the reseller whose network holds the locations below: the "
        "WHOIS object named with each location assigns the address to you."
    ),
    "network-holder": _(
        "You receive this notice as the holder of the network: {customer} hosts the locations "
        "below on your network and has not removed them after earlier notices."
    ),
    "upstream": _(
        "You receive this notice as an upstream of the origin AS named with each location: "
        "{customer} hosts the locations below and has not removed them after earlier notices."
    ),
    "registrar": _(
        "You receive this notice as the registrar of the domain names below: {customer} hosts "
        "the locations below and has not removed them after earlier notices."
    ),
}
_CUSTOMER = _("your customer {name}")
_UNNAMED_CUSTOMER = _("the party that hosts them")
_LABELS = {
    "csam": _("child sexual abuse material"),
    "phishing": _("phishing"),
    "malware": _("malware"),
}
_REASONS = {
    "csam": _(
        "Distribution of child sexual abuse material is a criminal offence under Directive "
        "2011/93/EU and the national criminal law of every EU member state."
    ),
    "phishing": _("The page at this location impersonates a trusted party to obtain credentials."),
    "malware": _("The file at this location is malicious software."),
}
_DEFAULT_REASON = _("The information at this location is illegal content ({classification}).")
_ASSESSED = _("assessed by the hotline on {date}")
_REPORTED_BY = _("reported by {source}")
_TRUSTED_SOURCE = _(
    "reported by {source}, a source whose reports are assessed before they reach the hotline"
)


@dataclass(frozen=True)
class Item:
    """One case as a message lists it: what a desk needs to act on that URL."""

    case_id: int
    url: str
    ip: str | None
    classification: str | None
    kind: str  # notice | renotice | reappeared
    first_message_at: datetime | None
    reported_at: datetime | None
    ticket: str = ""
    last_online_at: datetime | None = None
    last_status: int | None = None
    prefix: str | None = None
    origin_asn: int | None = None
    as_name: str | None = None
    whois_object: str | None = None
    """The WHOIS object that makes this address the recipient's network (key, name, org)."""
    customer: str | None = None
    """The party below the recipient that hosts it (the reseller or hoster), when known."""
    host: str | None = None
    deadline_at: datetime | None = None
    deadline_basis: str | None = None
    """``code`` (the code of conduct's hours from the first notice) or an order's reference."""
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


_KINDS = (("phishing", re.compile(r"phish", re.I)), ("malware", re.compile(r"malware", re.I)))


def category(classification: str | None) -> str:
    """The classification a message is about: CSAM in all its spellings is one (and phishing,
    malware likewise), so that CSAM never shares a message with phishing."""
    if is_csam(classification):
        return "csam"
    for name, pattern in _KINDS:
        if classification and pattern.search(classification):
            return name
    return (classification or "unspecified").strip().lower()


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


def stable_ticket(prefix: str, at: datetime, *parts: object) -> str:
    """A ticket made from what it names, so the same records give the same tickets (the demo
    replays to the byte); ``HWC`` for cases, ``HW`` for messages (bounces look for those)."""
    digest = hashlib.sha256("/".join(str(p) for p in parts).encode()).hexdigest()
    return f"{prefix}-{at:%Y%m%d}-{digest[:10].upper()}"


def _domain(address: str) -> str:
    return address.rpartition("@")[2] or "hostwatch.invalid"


def _stamp(instant: datetime | None) -> str:
    return instant.isoformat(timespec="seconds").replace("+00:00", "Z") if instant else "-"


def label(classification: str | None, gettext: Callable[[str], str]) -> str:
    key = category(classification)
    if key in _LABELS:
        return gettext(_LABELS[key])
    return safe_subject(classification or "illegal content", 60)


def _reason(classification: str | None, gettext: Callable[[str], str]) -> str:
    key = category(classification)
    if key in _REASONS:
        return gettext(_REASONS[key])
    return gettext(_DEFAULT_REASON).format(classification=safe_subject(key, 60))


def xarf_report(item: Item, ticket: str, settings: Settings, now: datetime) -> dict[str, Any]:
    """One X-ARF v4 report for one URL; the CSAM type where the classification is CSAM."""
    party = {
        "org": settings.notifier_name[:200],
        "contact": settings.notifier_email,
        "domain": _domain(settings.notifier_email),
    }
    reference = item.ticket or ticket
    report: dict[str, Any] = {
        "xarf_version": XARF_VERSION,
        "report_id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{reference}/{item.case_id}")),
        "timestamp": (item.reported_at or now).isoformat().replace("+00:00", "Z"),
        "reporter": party,
        "sender": party,
        "source_identifier": item.ip or display_url(item.url),
        "category": "content",
        "url": item.url,
        "evidence_source": "user_report",
        "description": f"ticket {reference}; case {item.case_id}; no content attached",
    }
    if is_csam(item.classification):
        method = "manual_review" if item.assessed_on else "user_report"
        report.update(type="csam", classification="baseline", detection_method=method)
    else:
        report["type"] = xarf_type(item.classification)
    return report


@dataclass(frozen=True)
class Letter:
    """Who a message is for and where it stands in its thread."""

    contact_name: str
    role: str  # hoster | reseller | network-holder | upstream | registrar
    language: str | None
    thread: str  # the ticket the subject keeps
    reference: str  # this message's own reference
    follow_up: bool


def _item_lines(number: int, item: Item, gettext: Callable[[str], str]) -> list[str]:
    lines = [
        f"{number:>3}. {gettext('Ticket')} {item.ticket}: {display_url(item.url)}",
        f"     {gettext('Classification')}: {label(item.classification, gettext)}",
        f"     {gettext('First reported')}: {_stamp(item.reported_at)}",
    ]
    if item.last_online_at:
        status = f" (HTTP {item.last_status})" if item.last_status else ""
        lines.append(
            f"     {gettext('Last verified online by hostwatch')}: "
            f"{_stamp(item.last_online_at)}{status}"
        )
    else:
        lines.append(f"     {gettext('Last verified online by hostwatch')}: {gettext('not yet')}")
    where = [f"{gettext('IP address')} {item.ip or '-'}"]
    if item.prefix:
        where.append(f"{gettext('prefix')} {item.prefix}")
    if item.origin_asn:
        name = f" ({safe_subject(item.as_name, 80)})" if item.as_name else ""
        where.append(f"{gettext('origin')} AS{item.origin_asn}{name}")
    lines.append("     " + ", ".join(where))
    if item.whois_object:
        lines.append(f"     {gettext('Why your network')}: {safe_subject(item.whois_object, 200)}")
    if item.deadline_at:
        basis = (
            gettext("code of conduct, from the first notice")
            if item.deadline_basis in (None, "code")
            else gettext("removal order {reference}").format(reference=item.deadline_basis)
        )
        lines.append(f"     {gettext('Deadline')}: {_stamp(item.deadline_at)} ({basis})")
    if item.kind == "renotice" and item.first_message_at:
        lines.append(
            "     "
            + gettext("Still reachable; first notified {time}").format(
                time=_stamp(item.first_message_at)
            )
        )
    elif item.kind == "reappeared":
        lines.append("     " + gettext("Reachable again after it had been removed"))
    lines.append(f"     {gettext('Reason')}: {_reason(item.classification, gettext)}")
    if item.legal_basis:
        lines.append(f"     {gettext('Legal basis')}: {safe_subject(item.legal_basis, 2000)}")
    if judged := assessment_line(item, gettext):
        lines.append(f"     {gettext('Assessment')}: {judged}")
    return lines


def assessment_line(item: Item, gettext: Callable[[str], str]) -> str | None:
    """How the material was judged, truthfully: by an analyst on a day, or by a source whose
    reports are assessed before they reach us; nothing at all when neither is known."""
    source = safe_subject(item.reported_by or "", 100)
    if item.assessed_on is not None:
        judged = gettext(_ASSESSED).format(date=item.assessed_on.isoformat())
        return judged + ("; " + gettext(_REPORTED_BY).format(source=source) if source else "")
    if source:
        return gettext(_TRUSTED_SOURCE).format(source=source)
    return None


def _role_line(letter: Letter, items: list[Item], gettext: Callable[[str], str]) -> str:
    customers = sorted({i.customer for i in items if i.customer})
    customer = (
        gettext(_CUSTOMER).format(name=safe_subject(", ".join(customers), 200))
        if customers
        else gettext(_UNNAMED_CUSTOMER)
    )
    return gettext(_ROLE_LINES.get(letter.role, _ROLE_LINES["hoster"])).format(customer=customer)


def subject_of(letter: Letter, classification: str | None) -> str:
    """``[thread] Notice and takedown request: <what>``, ``Re:`` on a follow-up: the same
    words for the whole thread, and true to every message in it (one classification each)."""
    gettext = translations(DOMAIN, letter.language).gettext
    what = gettext("Notice and takedown request: {what}").format(
        what=label(classification, gettext)
    )
    prefix = "Re: " if letter.follow_up else ""
    return safe_subject(f"{prefix}[{letter.thread}] {what}")


def compose(settings: Settings, letter: Letter, items: list[Item], now: datetime) -> Composed:
    """The subject, plain-text body and X-ARF reports of one message about one classification."""
    kinds = {category(item.classification) for item in items}
    if len(kinds) != 1:
        raise ValueError(f"one classification per message, not {sorted(kinds)}")
    gettext = translations(DOMAIN, letter.language).gettext
    name = settings.notifier_name
    lines = [
        gettext("Dear abuse team of {name},").format(name=safe_subject(letter.contact_name, 120)),
        "",
        gettext(
            "{notifier} notifies you, under Article 16 of Regulation (EU) 2022/2065 (Digital "
            "Services Act), of information on your service that it considers illegal content, "
            "and asks you to remove it or disable access to it expeditiously."
        ).format(notifier=name),
        "",
        _role_line(letter, items, gettext),
        "",
        gettext("Reference: {reference} (the ticket of each location is listed with it)").format(
            reference=letter.reference
        ),
        "",
        gettext("Exact location(s) ({count}):").format(count=len(items)),
    ]
    for number, item in enumerate(items, 1):
        lines += _item_lines(number, item, gettext)
    feed = settings.portal_url.rstrip("/") + FEED_PATH
    lines += [
        "",
        gettext("How to reply or dispute"),
        gettext(
            "Reply to this e-mail (it goes to {address}) and keep the ticket in the subject. "
            "To dispute a location, reply with its ticket and your reasons; an analyst reviews "
            "every dispute. Your provider feed lists these cases and lets you acknowledge or "
            "resolve them: {feed}"
        ).format(address=settings.notifier_email, feed=feed),
        "",
        f"{gettext('Notifier')}: {name} <{settings.notifier_email}>",
        "",
        gettext(
            "Statement: {notifier} confirms its bona fide belief that the information and "
            "allegations in this notice are accurate and complete."
        ).format(notifier=name),
        "",
        gettext(
            "This notice contains no copy of the material. Each location is attached as an "
            "X-ARF v4 report (JSON)."
        ),
    ]
    reports = [xarf_report(item, letter.reference, settings, now) for item in items]
    return Composed(
        subject=subject_of(letter, items[0].classification),
        body="\n".join(lines) + "\n",
        xarf={"reports": reports},
    )


def message_id(ticket: str, settings: Settings) -> str:
    return f"<{ticket.lower()}@{_domain(settings.notifier_email)}>"


def build_email(message: Message, settings: Settings) -> EmailMessage:
    """The e-mail for a stored message; the same bytes on every retry (same Message-ID).

    A follow-up carries In-Reply-To and References (our own Message-IDs, stored with the
    message), so the desk's mail client files it in the thread of the first notice.
    """
    mail = EmailMessage(policy=SMTP)
    mail["From"] = Address(
        display_name=safe_subject(settings.notifier_name, 100),
        addr_spec=settings.notifier_email,
    )
    mail["To"] = Address(addr_spec=message.to_address)
    mail["Reply-To"] = Address(addr_spec=settings.notifier_email)
    mail["Subject"] = safe_subject(message.subject)
    mail["Date"] = format_datetime(message.created_at)
    mail["Message-ID"] = message.message_id_header
    if message.in_reply_to:
        mail["In-Reply-To"] = message.in_reply_to
        mail["References"] = message.references_header or message.in_reply_to
    mail["X-Hostwatch-Ticket"] = message.ticket
    mail.set_content(message.body, subtype="plain", charset="utf-8", cte="quoted-printable")
    for number, report in enumerate((message.xarf or {}).get("reports", []), 1):
        mail.add_attachment(
            json.dumps(report, ensure_ascii=True, indent=2).encode(),
            maintype="application",
            subtype="json",
            filename=f"xarf-{message.ticket}-{number}.json",
        )
    for name, document in (message.xarf or {}).get("evidence", {}).items():
        mail.add_attachment(
            json.dumps(document, ensure_ascii=True, indent=2, default=str).encode(),
            maintype="application",
            subtype="json",
            filename=name,
        )
    # "=_" never occurs in quoted-printable or base64 text, so this boundary is safe, and it
    # makes the bytes of a message depend on the message alone (a replayed year is identical)
    mail.set_boundary(f"=_hostwatch_{message.ticket}")
    return mail
