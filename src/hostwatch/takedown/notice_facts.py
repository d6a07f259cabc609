"""What a notice says about each case, read in a few queries for a whole planning pass.

Per URL an abuse desk needs the classification, when it was first reported, when hostwatch
last saw it online (and the HTTP status then), the address with the prefix, origin AS and the
WHOIS object that make it the recipient's network, and the deadline that applies: a removal
order's when there is one, else the code of conduct's hours from the first notice. Each of
these is one query over all due cases instead of one per case, which is what let composing a
grouped notice cost milliseconds per URL.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hostwatch.model.attribution import Attribution
from hostwatch.model.case import Case
from hostwatch.model.check import Check
from hostwatch.model.notice import Notice
from hostwatch.model.order import Order, OrderCase
from hostwatch.model.party import Contact, Provider
from hostwatch.model.url import Url
from hostwatch.takedown.compose import Item
from hostwatch.takedown.policy import Rules
from hostwatch.takedown.threads import case_ticket
from hostwatch.takedown.triage import assessment


@dataclass
class Facts:
    """The records the notices of one pass draw on, keyed by url or case id."""

    reported: dict[int, datetime] = field(default_factory=dict)
    online: dict[int, tuple[datetime, int | None]] = field(default_factory=dict)
    orders: dict[int, tuple[str, datetime]] = field(default_factory=dict)
    providers: dict[int, str] = field(default_factory=dict)
    # Held here because the session's identity map holds objects weakly: without these, every
    # ``session.get`` of a URL or attribution of the pass went back to the database.
    urls: list[Url] = field(default_factory=list)
    attributions: list[Attribution] = field(default_factory=list)


def load_facts(session: Session, cases: Sequence[Case]) -> Facts:
    """Load the URLs and attributions of ``cases`` into the session, and the rest into Facts."""
    facts = Facts()
    if not cases:
        return facts
    case_ids = [c.id for c in cases]
    url_ids = sorted({c.url_id for c in cases})
    facts.urls = list(session.scalars(select(Url).where(Url.id.in_(url_ids))))
    attribution_ids = sorted({c.attribution_id for c in cases if c.attribution_id})
    if attribution_ids:
        facts.attributions = list(
            session.scalars(select(Attribution).where(Attribution.id.in_(attribution_ids)))
        )
    for case in cases:  # tickets first: one UPDATE per case when the pass flushes
        case_ticket(case)
    facts.reported = {
        url_id: at
        for url_id, at in session.execute(
            select(Notice.url_id, func.min(Notice.received_at))
            .where(Notice.url_id.in_(url_ids))
            .group_by(Notice.url_id)
        )
    }
    latest = (
        select(Check.case_id, func.max(Check.checked_at).label("at"))
        .where(Check.case_id.in_(case_ids), Check.online.is_(True))
        .group_by(Check.case_id)
        .subquery()
    )
    for case_id, at, status in session.execute(
        select(Check.case_id, Check.checked_at, Check.http_status).join(
            latest, (latest.c.case_id == Check.case_id) & (latest.c.at == Check.checked_at)
        )
    ):
        if case_id is not None:
            facts.online[case_id] = (at, status)
    for case_id, reference, deadline in session.execute(
        select(OrderCase.case_id, Order.reference, Order.deadline_at)
        .join(Order, Order.id == OrderCase.order_id)
        .where(OrderCase.case_id.in_(case_ids))
        .order_by(Order.issued_at, Order.id)
    ):
        facts.orders[case_id] = (reference, deadline)
    provider_ids = sorted({c.provider_id for c in cases if c.provider_id})
    if provider_ids:
        facts.providers = {
            pid: name
            for pid, name in session.execute(
                select(Provider.id, Provider.name).where(Provider.id.in_(provider_ids))
            )
        }
    return facts


def _link_text(link: dict[str, Any]) -> str:
    names = ", ".join(str(link[k]) for k in ("netname", "org_name") if link.get(k))
    return f"WHOIS {link.get('key') or link.get('range')}" + (f" ({names})" if names else "")


def why_yours(attribution: Attribution | None, contact: Contact, role: str, host: str) -> str:
    """The record that makes this URL the recipient's business, for the notice to name."""
    if role == "registrar":
        return f"domain {host}"
    if attribution is None:
        return ""
    if role == "upstream":
        return f"AS{attribution.origin_asn} announces {attribution.prefix}"
    chain = [link for link in attribution.whois_chain or [] if isinstance(link, dict)]
    if not chain:
        return f"AS{attribution.origin_asn} announces {attribution.prefix}"
    mine = own_link(chain, contact)
    if mine is not None:
        return _link_text(mine)
    return _link_text(holder_link(chain) if role == "network-holder" else chain[0])


def holder_link(chain: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The network holder's object in a WHOIS chain (stored most specific first)."""
    return next((link for link in chain if link.get("level") == "holder"), chain[-1])


def own_link(chain: Sequence[dict[str, Any]], contact: Contact) -> dict[str, Any] | None:
    """The most specific WHOIS object whose abuse mailbox is this contact's address."""
    email = (contact.email or "").lower()
    return next(
        (link for link in chain if str(link.get("abuse_mailbox") or "").lower() == email), None
    )


def addressee(session: Session, case: Case, contact: Contact) -> tuple[str, bool]:
    """The name to address ``contact`` by, and whether it is a reseller: for an automatic
    contact the organisation of its own WHOIS object (a reseller's desk is filed under the
    provider whose space it rents, but is not that provider)."""
    attribution = session.get(Attribution, case.attribution_id) if case.attribution_id else None
    chain = (
        [link for link in (attribution.whois_chain or []) if isinstance(link, dict)]
        if attribution
        else []
    )
    link = own_link(chain, contact) if contact.source == "auto" else None
    if link is None:
        return contact.name, contact.role == "reseller"
    return str(link.get("org_name") or contact.name), link.get("level") == "reseller"


def make_item(
    session: Session,
    case: Case,
    kind: str,
    contact: Contact,
    role: str,
    facts: Facts,
    rules: Rules,
    now: datetime,
) -> Item:
    """One case as a message to ``contact`` in ``role`` lists it."""
    url = session.get(Url, case.url_id)
    attribution = session.get(Attribution, case.attribution_id) if case.attribution_id else None
    host = url.host if url else ""
    online = facts.online.get(case.id)
    order = facts.orders.get(case.id)
    if order is not None:
        basis, deadline = order
    else:
        basis, deadline = "code", (case.first_message_at or now) + rules.deadline
    customer = None
    if role not in ("hoster", "reseller"):
        hoster = session.get(Contact, case.contact_id) if case.contact_id else None
        hoster_name = hoster.name if hoster is not None and hoster.id != contact.id else None
        customer = case.reseller or hoster_name or facts.providers.get(case.provider_id or 0)
        if customer == contact.name:
            customer = None
    judged = assessment(session, case)
    return Item(
        case_id=case.id,
        url=url.url if url else "",
        ip=attribution.ip if attribution else None,
        classification=case.classification,
        kind="notice" if kind in ("notice", "escalation", "referral") else kind,
        first_message_at=case.first_message_at,
        reported_at=facts.reported.get(case.url_id),
        ticket=case_ticket(case),
        last_online_at=online[0] if online else None,
        last_status=online[1] if online else None,
        prefix=attribution.prefix if attribution else None,
        origin_asn=attribution.origin_asn if attribution else None,
        as_name=attribution.as_name if attribution else None,
        whois_object=why_yours(attribution, contact, role, host) or None,
        customer=customer,
        host=host,
        deadline_at=deadline,
        deadline_basis=basis,
        assessed_on=judged.assessed_on,
        reported_by=judged.reported_by,
        legal_basis=judged.legal_basis,
    )
