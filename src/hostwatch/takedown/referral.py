"""A referral: one message per case to an authority, a partner hotline or a CERT, with evidence.

An authority does not take down; it investigates. So it is not sent the hoster's notice (which
asks the recipient to remove material on "your network") nor its daily re-notice: it gets one
referral per case, saying why the case comes to it, with the evidence it needs to act without
asking back: the timeline of the case from the audit log, the checks, the messages sent and
their deliveries, the attribution with its snapshots, and the audit-log head (tree size and root)
that the timeline can be verified against. The evidence goes as a JSON attachment beside the
X-ARF report. Nothing of this ever reaches the provider (``web/disclosure.py``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hostwatch.i18n import translations
from hostwatch.model.attribution import Attribution
from hostwatch.model.audit import TREE_ROW, AuditEvent, AuditTree
from hostwatch.model.case import Case
from hostwatch.model.check import Check
from hostwatch.model.message import Delivery, Message, MessageCase
from hostwatch.model.party import Contact, Provider
from hostwatch.model.url import Url
from hostwatch.settings import Settings
from hostwatch.takedown.compose import (
    DOMAIN,
    Composed,
    Item,
    Letter,
    display_url,
    label,
    safe_subject,
    xarf_report,
)

MAX_CHECKS = 100
"""The latest checks listed in the evidence; the counts cover all of them."""


def _stamp(instant: datetime | None) -> str | None:
    return instant.isoformat(timespec="seconds").replace("+00:00", "Z") if instant else None


def evidence(session: Session, case: Case, now: datetime) -> dict[str, Any]:
    """What hostwatch holds about one case, as the referral's JSON attachment."""
    attribution = session.get(Attribution, case.attribution_id) if case.attribution_id else None
    provider = session.get(Provider, case.provider_id) if case.provider_id else None
    events = session.scalars(
        select(AuditEvent)
        .where(AuditEvent.object_type == "case", AuditEvent.object_id == str(case.id))
        .order_by(AuditEvent.seq)
    ).all()
    checks = session.scalars(
        select(Check).where(Check.case_id == case.id).order_by(Check.checked_at.desc(), Check.id)
    ).all()
    sent = session.execute(
        select(Message, Contact.role)
        .join(MessageCase, MessageCase.message_id == Message.id)
        .outerjoin(Contact, Contact.id == Message.contact_id)
        .where(MessageCase.case_id == case.id)
        .order_by(Message.created_at, Message.id)
    ).all()
    deliveries: dict[int, list[Delivery]] = {}
    if sent:
        for delivery in session.scalars(
            select(Delivery)
            .where(Delivery.message_id.in_([m.id for m, _ in sent]))
            .order_by(Delivery.attempted_at, Delivery.id)
        ):
            deliveries.setdefault(delivery.message_id, []).append(delivery)
    tree = session.get(AuditTree, TREE_ROW)
    return {
        "case": {
            "ticket": case.ticket,
            "url": case_url(session, case),
            "classification": case.classification,
            "state": case.state,
            "opened_at": _stamp(case.opened_at),
            "first_message_at": _stamp(case.first_message_at),
            "last_online_at": _stamp(case.last_online_at),
            "hosting_country": case.country,
            "provider": provider.name if provider else None,
            "reseller": case.reseller,
        },
        "timeline": [
            {"at": _stamp(e.at), "seq": e.seq, "action": e.action, "reason": e.reason}
            for e in events
        ],
        "checks": {
            "count": len(checks),
            "online": sum(c.online for c in checks),
            "latest": [
                {
                    "at": _stamp(c.checked_at),
                    "outcome": c.outcome,
                    "online": c.online,
                    "http_status": c.http_status,
                    "resolved_ip": c.resolved_ip,
                }
                for c in checks[:MAX_CHECKS]
            ],
        },
        "messages": [
            {
                "at": _stamp(m.created_at),
                "reference": m.ticket,
                "to_role": role,
                "kind": m.kind,
                "escalation_level": m.escalation_level,
                "deliveries": [
                    {"at": _stamp(d.attempted_at), "outcome": d.outcome, "code": d.smtp_code}
                    for d in deliveries.get(m.id, [])
                ],
            }
            for m, role in sent
        ],
        "attribution": None
        if attribution is None
        else {
            "at": _stamp(attribution.at),
            "status": attribution.status,
            "ip": attribution.ip,
            "ips": attribution.ips,
            "prefix": attribution.prefix,
            "origin_asn": attribution.origin_asn,
            "as_name": attribution.as_name,
            "whois_chain": attribution.whois_chain,
            "country": attribution.country,
            "abuse_contact": attribution.abuse_contact,
            "sources": attribution.sources,
        },
        "audit_head": None
        if tree is None
        else {"tree_size": tree.tree_size, "root_hash": tree.root_hash, "at": _stamp(now)},
    }


def case_url(session: Session, case: Case) -> str:
    url = session.get(Url, case.url_id)
    return url.url if url else ""


def compose_referral(
    settings: Settings, letter: Letter, item: Item, proof: dict[str, Any], now: datetime
) -> Composed:
    """The referral of one case: why it comes to this authority, and where the evidence is."""
    gettext = translations(DOMAIN, letter.language).gettext
    what = label(item.classification, gettext)
    case = proof["case"]
    head = proof.get("audit_head") or {}
    hosted = case.get("hosting_country") or "?"
    lines = [
        gettext("Dear {name},").format(name=safe_subject(letter.contact_name, 120)),
        "",
        gettext(
            "{notifier} refers to you one case of {what} hosted in {country}, under the "
            "referral table for this category and hosting country. The hosting party has not "
            "removed it after our notices; we continue to notify the parties in its chain. "
            "This is the only message you receive about this case."
        ).format(notifier=settings.notifier_name, what=what, country=hosted),
        "",
        f"{gettext('Ticket')}: {item.ticket}",
        f"URL: {display_url(item.url)}",
        f"{gettext('Classification')}: {what}",
        f"{gettext('First reported')}: {_stamp(item.reported_at) or '-'}",
        f"{gettext('Last verified online by hostwatch')}: {_stamp(item.last_online_at) or '-'}"
        + (f" (HTTP {item.last_status})" if item.last_status else ""),
        f"{gettext('IP address')}: {item.ip or '-'}, {gettext('prefix')} {item.prefix or '-'}, "
        f"{gettext('origin')} AS{item.origin_asn or '-'}",
        f"{gettext('Hosting provider')}: {safe_subject(case.get('provider') or '-', 200)}"
        + (f" / {safe_subject(case['reseller'], 200)}" if case.get("reseller") else ""),
        "",
        gettext("Evidence (attached as JSON):"),
        "  - " + gettext("timeline: {count} audit events").format(count=len(proof["timeline"])),
        "  - "
        + gettext("checks: {count}, of which {online} saw it online").format(
            count=proof["checks"]["count"], online=proof["checks"]["online"]
        ),
        "  - " + gettext("messages sent: {count}").format(count=len(proof["messages"])),
        "  - " + gettext("attribution with the snapshots it used"),
        "  - "
        + gettext("audit log head: size {size}, root {root}").format(
            size=head.get("tree_size", "-"), root=head.get("root_hash", "-")
        ),
        "",
        gettext(
            "Reply to this e-mail (it goes to {address}) with the ticket in the subject."
        ).format(address=settings.notifier_email),
        "",
        gettext(
            "This referral contains no copy of the material. Do not forward it to the hosting "
            "party."
        ),
    ]
    subject = safe_subject(
        f"[{letter.thread}] "
        + gettext("Referral: {what} hosted in {country}").format(what=what, country=hosted)
    )
    return Composed(
        subject=subject,
        body="\n".join(lines) + "\n",
        xarf={
            "reports": [xarf_report(item, letter.reference, settings, now)],
            "evidence": {f"evidence-{item.ticket}.json": proof},
        },
    )
