"""Opening cases from attributions, and holding them when the hoster changes.

A case is the work for one URL at one responsible party, so the party is part of its identity
(``party_key``): the same URL attributed later to another hoster is a new case, and the old one
is held as "moved" for an analyst instead of being silently re-pointed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from hostwatch.model.attribution import Attribution
from hostwatch.model.audit import record
from hostwatch.model.case import Case
from hostwatch.model.notice import Notice
from hostwatch.model.party import Contact
from hostwatch.model.url import Url
from hostwatch.takedown.contacts import ContactBook, automatic_contact, find_contact
from hostwatch.takedown.states import OPEN_STATES, transition
from hostwatch.takedown.triage import Intake

HOSTER_ROLES = ("reseller", "provider")


@dataclass(frozen=True)
class Opened:
    opened: int
    moved: int


def party_key(provider_id: int | None, contact: Contact | None, status: str) -> str:
    """Who is responsible, as a stable key even when no provider is known."""
    if provider_id is not None:
        return f"provider:{provider_id}"
    if contact is not None:
        return f"contact:{contact.id}"
    return f"unattributed:{status}"[:64]


def responsible_provider(attribution: Attribution, contact: Contact | None) -> int | None:
    """The attributed provider; else the provider of a manual contact whose network holds the IP.

    Attribution may leave the provider open where no routing data covers the address (private or
    unrouted space); an analyst's manual network entry still says who is responsible there.
    """
    if attribution.provider_id is not None:
        return attribution.provider_id
    if contact is not None and contact.source == "manual" and contact.network:
        return contact.provider_id
    return None


def hoster_contact(
    session: Session, attribution: Attribution, host: str, now: datetime, book: ContactBook
) -> Contact | None:
    """The first party to write to: a manual contact for the network or provider, else the
    abuse address attribution found."""
    found = book.find(
        roles=HOSTER_ROLES,
        ip=attribution.ip,
        provider_id=attribution.provider_id,
        host=host,
        country=attribution.country,
    )
    if found is not None and found.source == "manual":
        return found
    auto = automatic_contact(session, attribution.provider_id, attribution.abuse_contact, now=now)
    return auto or found


def _latest_attributions(session: Session) -> list[Attribution]:
    # Every attribution up to the newest one a case points at has been handled in an earlier
    # pass, so only URLs with a newer attribution need a look: an idle pass stays cheap however
    # many attributions the database holds.
    watermark = session.scalar(select(func.max(Case.attribution_id))) or 0
    fresh = select(Attribution.url_id).where(Attribution.id > watermark)
    newest = (
        select(Attribution.url_id, func.max(Attribution.id).label("id"))
        .where(Attribution.url_id.in_(fresh))
        .group_by(Attribution.url_id)
        .subquery()
    )
    handled = exists().where(
        Case.url_id == Attribution.url_id, Case.attribution_id >= Attribution.id
    )
    query = (
        select(Attribution)
        .join(newest, Attribution.id == newest.c.id)
        .where(~handled)
        .order_by(Attribution.id)  # cases get their ids in the order attributions were made
    )
    return list(session.scalars(query))


def _classification(session: Session, url_id: int) -> str | None:
    return session.scalar(
        select(Notice.classification)
        .where(Notice.url_id == url_id, Notice.classification.is_not(None))
        .order_by(Notice.received_at, Notice.id)
        .limit(1)
    )


def open_cases(session: Session, *, now: datetime) -> Opened:
    """One case per URL per party from the newest attribution of each URL.

    When a URL's newest attribution names another party than its open case, that case moves to
    "moved" and is held for an analyst; the new party gets a case of its own.
    """
    opened = moved = 0
    attributions = _latest_attributions(session)
    if not attributions:  # most passes: nothing new, and no contact book to load
        return Opened(0, 0)
    book = ContactBook.load(session)
    triage = Intake(session, (attribution.url_id for attribution in attributions))
    for attribution in attributions:
        url = session.get(Url, attribution.url_id)
        if url is None:
            continue
        contact = hoster_contact(session, attribution, url.host, now, book)
        provider_id = responsible_provider(attribution, contact)
        key = party_key(provider_id, contact, attribution.status)
        existing = session.scalars(
            select(Case).where(Case.url_id == url.id).order_by(Case.id).with_for_update()
        ).all()
        same = [case for case in existing if case.party_key == key]
        if same:
            for case in same:
                case.attribution_id = attribution.id
                triage.reconsider(case, now=now)
            continue
        for case in existing:
            if case.state in OPEN_STATES and case.state != "moved":
                hold(session, case, now=now, reason=f"hoster changed: {case.party_key} -> {key}")
                moved += 1
        case = Case(
            url_id=url.id,
            party_key=key,
            provider_id=provider_id,
            contact_id=contact.id if contact else None,
            attribution_id=attribution.id,
            reseller=attribution.reseller,
            country=attribution.country,
            classification=_classification(session, url.id),
            state="new",
            state_since=now,
            opened_at=now,
            next_message_at=now,
            next_check_at=now,
        )
        session.add(case)
        session.flush()
        record(
            session,
            at=now,
            actor="workflow",
            action="case.new",
            object_type="case",
            object_id=case.id,
            reason=f"opened from attribution {attribution.id} ({attribution.status})",
            data={"url_id": url.id, "party_key": key, "contact_id": case.contact_id},
        )
        triage.on_open(case, now=now)
        opened += 1
    return Opened(opened, moved)


def hoster_change(session: Session, case: Case, address: str) -> str | None:
    """Why ``address`` (seen by a check) means another hoster than the case's, or None.

    Only what the hotline itself recorded can say so without a new attribution: a manual
    contact whose network holds the new address and belongs to another provider.
    """
    attribution = session.get(Attribution, case.attribution_id) if case.attribution_id else None
    if attribution is None or not attribution.ips or address in attribution.ips:
        return None
    other = find_contact(session, roles=HOSTER_ROLES, ip=address, provider_id=None)
    if other is None or other.source != "manual" or other.provider_id == case.provider_id:
        return None
    return (
        f"hoster changed: the URL now answers from {address} (was {', '.join(attribution.ips)}),"
        f" in the network {other.network} of {other.name}"
    )


def hold(session: Session, case: Case, *, now: datetime, reason: str) -> None:
    """Stop sending and escalating for ``case`` until an analyst releases it."""
    transition(session, case, "moved", at=now, reason=reason)
    case.held = True
    case.hold_reason = reason
    case.next_message_at = None


def release(session: Session, case: Case, *, now: datetime, reason: str, actor: str) -> None:
    """An analyst's decision on a held case: resume the work where it stood."""
    case.held = False
    case.hold_reason = None
    target = "new" if case.first_message_at is None else "notified"
    transition(session, case, target, at=now, reason=reason, actor=actor)
    case.next_message_at = now
    case.next_check_at = now
