"""Deciding which messages are due, writing them as intents, and delivering the intents.

Sending is split so that a worker killed at any moment neither loses nor duplicates a message:

1. plan: in one transaction, the due cases are locked (waiting for a check that is recording its
   result, so no due case is left out), one Message (the intent) per contact is written with its
   MessageCase rows, and the cases stop being due;
2. deliver: each message without a final delivery is locked (``FOR UPDATE SKIP LOCKED``, so two
   workers never take the same one), handed to its contact's channel (SMTP or the outbox, an
   HTTPS webhook, or the provider feed), and its Delivery and the case timings are written in
   that same transaction.

A worker that dies after step 1 leaves an intent that the next delivery pass sends. One that
dies during step 2 rolls back; if the server had already answered 250, the delivery journal
(:mod:`hostwatch.takedown.delivery_journal`) says so and the message is recorded as sent at that
time instead of being sent again; if not, it is sent again with the same Message-ID, which
receivers treat as the same mail. A webhook is delivered the same way: its 2xx is journalled
before the commit, and a repeat after a crash before the journal carries the same
``Idempotency-Key``. The 24-hour clock starts at the first delivery, not the plan.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, exists, func, select
from sqlalchemy.orm import Session, sessionmaker

from hostwatch.model.attribution import Attribution
from hostwatch.model.audit import record
from hostwatch.model.case import Case
from hostwatch.model.message import Delivery, Message, MessageCase
from hostwatch.model.party import Contact
from hostwatch.model.url import Url
from hostwatch.settings import Settings
from hostwatch.takedown.cases import hoster_contact
from hostwatch.takedown.compose import (
    Composed,
    Letter,
    build_email,
    category,
    compose,
    message_id,
    stable_ticket,
)
from hostwatch.takedown.contacts import (
    ContactBook,
    automatic_contact,
    channel_for,
    destination,
    reachable,
)
from hostwatch.takedown.inhibitions import inhibited
from hostwatch.takedown.notice_facts import addressee, holder_link, load_facts, make_item
from hostwatch.takedown.policy import Policy, Rules, Step
from hostwatch.takedown.referral import compose_referral, evidence
from hostwatch.takedown.referrals import Routes
from hostwatch.takedown.send import MAX_ATTEMPTS, Attempt, Transport, backoff
from hostwatch.takedown.states import transition
from hostwatch.takedown.threads import Thread, case_ticket, thread_for
from hostwatch.takedown.triage import NOTICE_MAY_GO
from hostwatch.takedown.webhook import payload as webhook_payload

log = logging.getLogger(__name__)
MESSAGE_STATES = ("new", "notified", "reachable", "escalated", "reappeared")
_STEP_ROLES = {
    "reseller": ("reseller",),
    "network-holder": ("provider",),
    "upstream": ("upstream",),
    "registrar": ("registrar",),
    "authority": ("authority",),
}
FINAL = ("sent", "failed")
NOTICE_KINDS = ("notice", "renotice", "escalation", "reappeared", "digest")
"""The kinds of message a notice thread continues (a referral is a thread of its own)."""


@dataclass(frozen=True)
class Target:
    contact: Contact
    level: int
    role: str
    kind: str


def _usable(contact: Contact | None) -> Contact | None:
    if contact is None or contact.do_not_notify or not contact.active or not reachable(contact):
        return None
    return contact


def _step_contact(
    session: Session,
    case: Case,
    step: Step,
    host: str,
    ip: str | None,
    book: ContactBook,
    now: datetime,
) -> Contact | None:
    hoster = session.get(Contact, case.contact_id) if case.contact_id else None
    if step.role == "hoster":
        return None if hoster is not None and hoster.police_route else _usable(hoster)
    found = book.find(
        roles=_STEP_ROLES[step.role],
        ip=ip,
        provider_id=case.provider_id,
        host=host,
        country=case.country,
    )
    if step.role == "network-holder":
        found = _network_holder(session, case, book, found, hoster, now)
    if found is not None and hoster is not None and found.id == hoster.id:
        return None
    return _usable(found)


def _network_holder(
    session: Session,
    case: Case,
    book: ContactBook,
    found: Contact | None,
    hoster: Contact | None,
    now: datetime,
) -> Contact | None:
    """The network holder's desk: a manual contact the book found, else the automatic contact
    of the holder's WHOIS object's abuse mailbox (created on first need, as attribution creates
    the hoster's). Another automatic address of the same provider (a
    reseller's desk filed under it) is the hoster's customer, not the holder of its network."""
    if found is not None and found.source == "manual":
        return found
    attribution = session.get(Attribution, case.attribution_id) if case.attribution_id else None
    chain = (
        [link for link in (attribution.whois_chain or []) if isinstance(link, dict)]
        if attribution
        else []
    )
    if not chain:
        return found
    top = str(holder_link(chain).get("abuse_mailbox") or "").lower()
    if not top or (hoster is not None and (hoster.email or "").lower() == top):
        return None
    known = next(
        (c for c, _ in book.entries if c.role == "provider" and (c.email or "").lower() == top),
        None,
    )
    return known or automatic_contact(session, case.provider_id, top, now=now)


def _intervals(case: Case, hoster: Contact | None, rules: Rules) -> int:
    """How far up the ladder the case stands: the messages already sent for it, or the top
    at once for a hoster on the police route."""
    if hoster is not None and hoster.police_route:
        return max(step.after_intervals for step in rules.ladder)
    return case.messages_sent


def choose_target(
    session: Session, case: Case, rules: Rules, now: datetime, book: ContactBook
) -> Target | None:
    """Whom this due case's notice goes to now: the highest ladder step reached that has a
    contact, leaving out the authority step (a referral, see ``choose_referral``).

    The ladder counts renotice intervals as the messages already sent for the case: each went out
    at least one interval after the one before, and a URL that was removed and came back starts
    again where it stood instead of jumping up for the time it was gone.
    """
    url = session.get(Url, case.url_id)
    attribution = session.get(Attribution, case.attribution_id) if case.attribution_id else None
    ip = attribution.ip if attribution else None
    host = url.host if url else ""
    hoster = session.get(Contact, case.contact_id) if case.contact_id else None
    if hoster is None and attribution is not None and url is not None:
        # a contact entered after the case was opened: use it from now on
        hoster = hoster_contact(session, attribution, url.host, now, book)
        case.contact_id = hoster.id if hoster else None
    for level, step in rules.steps_reached(_intervals(case, hoster, rules)):
        if step.role == "authority":
            continue
        contact = _step_contact(session, case, step, host, ip, book, now)
        if contact is None:
            continue
        if case.first_message_at is None and level == 0:
            kind = "notice"
        elif case.state == "reappeared":
            kind = "reappeared"
        elif level > case.escalation_level:
            kind = "escalation"
        else:
            kind = "renotice"
        role = "reseller" if step.role == "hoster" and contact.role == "reseller" else step.role
        return Target(contact, level, role, kind)
    return None


def choose_referral(
    session: Session, case: Case, rules: Rules, routes: Routes, book: ContactBook
) -> Target | None:
    """The referral this due case needs now: once, when its ladder reaches the authority step,
    to whom the routing table names for its category and hosting country (or no one)."""
    hoster = session.get(Contact, case.contact_id) if case.contact_id else None
    reached = rules.steps_reached(_intervals(case, hoster, rules))
    level = next((lvl for lvl, step in reached if step.role == "authority"), None)
    if level is None:
        return None
    contact = routes.target(case.classification, case.country, [c for c, _ in book.entries])
    return Target(contact, level, contact.role, "referral") if contact is not None else None


def _due_cases(session: Session, now: datetime) -> list[Case]:
    query = (
        select(Case)
        .where(
            Case.state.in_(MESSAGE_STATES),
            Case.held.is_(False),
            NOTICE_MAY_GO,
            Case.next_message_at.is_not(None),
            Case.next_message_at <= now,
        )
        .order_by(Case.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return list(session.scalars(query))


def _last_message_at(session: Session, contact_id: int) -> datetime | None:
    return session.scalar(
        select(func.max(Message.created_at)).where(Message.contact_id == contact_id)
    )


def _referred(session: Session, cases: list[Case]) -> set[int]:
    """The cases among ``cases`` that were already referred: a case is referred once."""
    return set(
        session.scalars(
            select(MessageCase.case_id)
            .join(Message, Message.id == MessageCase.message_id)
            .where(Message.kind == "referral", MessageCase.case_id.in_([c.id for c in cases]))
        )
    )


def _store(
    session: Session,
    settings: Settings,
    *,
    contact: Contact,
    kind: str,
    level: int,
    composed: Composed,
    reference: str,
    thread: Thread,
    cases: list[Case],
    now: datetime,
) -> int:
    message = Message(
        ticket=reference,
        contact_id=contact.id,
        to_address=destination(contact),
        kind=kind,
        escalation_level=level,
        subject=composed.subject,
        body=composed.body,
        xarf=composed.xarf,
        message_id_header=message_id(reference, settings),
        created_at=now,
        thread=thread.ticket,
        in_reply_to=thread.in_reply_to,
        references_header=thread.references,
    )
    session.add(message)
    session.flush()
    for case in cases:
        session.add(MessageCase(message_id=message.id, case_id=case.id))
        case.next_message_at = None
    return message.id


def plan_messages(session: Session, settings: Settings, policy: Policy, now: datetime) -> list[int]:
    """Write the message intents for every due case; return their ids.

    Notices are grouped per contact, ladder level and classification (CSAM never shares a
    message with phishing), each continuing the contact's thread about those cases; a case
    whose ladder reached the authority step is also referred, once, on its own.
    """
    groups: dict[tuple[int, int, str], list[tuple[Case, Target]]] = defaultdict(list)
    referrals: list[tuple[Case, Target]] = []
    due = _due_cases(session, now)
    due = [case for case in due if not inhibited(session, case, now)]
    if not due:  # most passes: the contact book is not worth loading
        return []
    book = ContactBook.load(session)
    facts = load_facts(session, due)
    referred = _referred(session, due)
    for case in due:
        rules = policy.rules_for(case.classification, case.country)
        target = choose_target(session, case, rules, now, book)
        referral = None
        if case.id not in referred:
            referral = choose_referral(session, case, rules, policy.referrals, book)
        if target is None and referral is None:
            case.next_message_at = now + rules.renotice
            continue
        opening = rules.shift(now)
        interval = target.contact.group_interval_hours if target else 0
        if target and interval > 0 and (last := _last_message_at(session, target.contact.id)):
            opening = max(opening, last + timedelta(hours=interval))
        if opening > now:
            case.next_message_at = opening
            continue
        if target is not None:
            key = (target.contact.id, target.level, category(case.classification))
            groups[key].append((case, target))
        if referral is not None:
            referrals.append((case, referral))
    created = []
    for (_contact_id, level, _category), members in groups.items():
        contact, role = members[0][1].contact, members[0][1].role
        cases = [case for case, _ in members]
        name, reseller = addressee(session, cases[0], contact)
        if role == "hoster" and reseller:
            role = "reseller"
        thread = thread_for(session, contact.id, cases, kinds=NOTICE_KINDS)
        kinds = {target.kind for _, target in members}
        kind = kinds.pop() if len(kinds) == 1 else "digest"
        # the cases' counts of messages sent make a second message to the same contact at the
        # same instant (a case made due again by a check) a different reference
        reference = stable_ticket(
            "HW", now, contact.id, level, kind, *(f"{c.id}:{c.messages_sent}" for c in cases)
        )
        items = [
            make_item(
                session,
                case,
                target.kind,
                contact,
                role,
                facts,
                policy.rules_for(case.classification, case.country),
                now,
            )
            for case, target in members
        ]
        letter = Letter(name, role, contact.language, thread.ticket, reference, thread.follow_up)
        composed = compose(settings, letter, items, now)
        created.append(
            _store(
                session,
                settings,
                contact=contact,
                kind=kind,
                level=level,
                composed=composed,
                reference=reference,
                thread=thread,
                cases=cases,
                now=now,
            )
        )
    for case, target in referrals:
        contact = target.contact
        rules = policy.rules_for(case.classification, case.country)
        item = make_item(session, case, "referral", contact, "authority", facts, rules, now)
        reference = stable_ticket("HW", now, contact.id, "referral", case.id)
        thread = Thread(case_ticket(case))
        letter = Letter(
            contact.name, "authority", contact.language, thread.ticket, reference, False
        )
        composed = compose_referral(settings, letter, item, evidence(session, case, now), now)
        created.append(
            _store(
                session,
                settings,
                contact=contact,
                kind="referral",
                level=target.level,
                composed=composed,
                reference=reference,
                thread=thread,
                cases=[case],
                now=now,
            )
        )
    session.flush()
    return created


def waiting(session: Session, now: datetime) -> tuple[bool, bool]:
    """Whether any case has a message due at ``now``, and whether any intent awaits delivery.

    One unlocked read, so that a pass with nothing to send skips planning and delivery: a case
    that a concurrent transaction is making due is missed here exactly as the locking query of
    ``plan_messages`` would miss it (it only sees committed rows as due). A message gets at most
    one final delivery (``_deliver_one`` locks it and checks), so some intent is pending exactly
    when there are more messages than final deliveries: two counts, instead of a lookup per
    message, which cost a pass more the longer hostwatch had been sending.
    """
    row = session.execute(_WAITING, {"now": now}).one()
    return bool(row[0]), bool(row[1])


_WAITING = select(
    exists().where(
        Case.state.in_(MESSAGE_STATES),
        Case.held.is_(False),
        NOTICE_MAY_GO,
        Case.next_message_at.is_not(None),
        Case.next_message_at <= bindparam("now"),
    ),
    select(func.count()).select_from(Message).scalar_subquery()
    > select(func.count())
    .select_from(Delivery)
    .where(Delivery.outcome.in_(FINAL))
    .scalar_subquery(),
)
"""Built once: a pass runs it every time, and building it cost more than SQLite running it."""


def pending_message_ids(session: Session) -> list[int]:
    """Messages without a final delivery: intents to send, or retries waiting for backoff."""
    final = exists().where(Delivery.message_id == Message.id, Delivery.outcome.in_(FINAL))
    return list(session.scalars(select(Message.id).where(~final).order_by(Message.id)))


@dataclass
class Delivered:
    sent: int = 0
    tempfail: int = 0
    failed: int = 0


def deliver_pending(
    session_factory: sessionmaker[Session],
    settings: Settings,
    policy: Policy,
    transport: Transport,
    now: datetime,
    *,
    only: list[int] | None = None,
) -> Delivered:
    """Send every message intent (or those in ``only``) with no final delivery, when due."""
    totals = Delivered()
    if only is None:
        with session_factory() as session:
            only = pending_message_ids(session)
    for message_id_ in only:
        with session_factory() as session, session.begin():
            outcome = _deliver_one(session, message_id_, settings, policy, transport, now)
        if outcome:
            setattr(totals, outcome, getattr(totals, outcome) + 1)
    return totals


def _deliver_one(
    session: Session,
    message_id_: int,
    settings: Settings,
    policy: Policy,
    transport: Transport,
    now: datetime,
) -> str | None:
    message = session.scalar(_MESSAGE_TO_DELIVER, {"id": message_id_})
    if message is None:
        return None
    deliveries = list(session.scalars(_DELIVERIES, {"id": message.id}))
    if any(d.outcome in FINAL for d in deliveries):
        return None
    tempfails = [d for d in deliveries if d.outcome == "tempfail"]
    if tempfails:
        last = max(d.attempted_at for d in tempfails)
        if now < last + backoff(len(tempfails)):
            return None
    attempt, accepted_at = _attempt(session, message, settings, transport, now)
    now = accepted_at or now
    outcome = attempt.outcome
    if outcome == "tempfail" and len(tempfails) + 1 >= MAX_ATTEMPTS:
        session.add(_delivery(message, attempt.transport, "tempfail", attempt, now))
        outcome = "failed"
    session.add(_delivery(message, attempt.transport, outcome, attempt, now))
    if outcome == "sent":
        _mark_sent(session, message, policy, now)
    elif outcome == "failed":
        _mark_failed(session, message, policy, now, attempt.detail)
    record(
        session,
        at=now,
        actor="workflow",
        action=f"message.{outcome}",
        object_type="message",
        object_id=message.id,
        reason=attempt.detail,
        data={"ticket": message.ticket, "to": message.to_address, "kind": message.kind},
    )
    return outcome


def _attempt(
    session: Session, message: Message, settings: Settings, transport: Transport, now: datetime
) -> tuple[Attempt, datetime | None]:
    """Hand ``message`` to its contact's channel, unless the journal says it already went.

    Returns the attempt and, for a message accepted before a restart, when it was accepted.
    A feed-only contact gets no push: the message is recorded as published to its feed, where
    the provider reads it, and that publication is the delivery.
    """
    contact = session.get(Contact, message.contact_id) if message.contact_id else None
    channel = channel_for(contact, message.kind)
    accepted_at = transport.accepted_before(message.message_id_header)
    if accepted_at is not None:  # accepted, then the process died before this was committed
        name = transport.name if channel == "email" else channel
        code = 250 if name == "smtp" else None
        return Attempt(name, "sent", code, "accepted before a restart (journal)"), accepted_at
    if channel == "webhook" and contact is not None:
        body = webhook_payload(session, message)
        return transport.post_webhook(contact, body, message, now), None
    if channel == "feed":
        return Attempt("feed", "sent", None, "published in the provider feed (no push)"), None
    return transport.send(build_email(message, settings), message.ticket, now), None


def _delivery(
    message: Message, transport: str, outcome: str, attempt: object, now: datetime
) -> Delivery:
    return Delivery(
        message_id=message.id,
        attempted_at=now,
        transport=transport,
        outcome=outcome,
        smtp_code=getattr(attempt, "code", None),
        detail=getattr(attempt, "detail", None),
    )


def _message_cases(session: Session, message: Message) -> list[Case]:
    return list(session.scalars(_MESSAGE_CASES, {"id": message.id}))


# Built once, like _WAITING: every delivery runs them.
_MESSAGE_TO_DELIVER = (
    select(Message)
    .where(Message.id == bindparam("id"))
    .with_for_update(skip_locked=True)
    .execution_options(populate_existing=True)
)
_DELIVERIES = select(Delivery).where(Delivery.message_id == bindparam("id"))
_MESSAGE_CASES = (
    select(Case)
    .join(MessageCase, MessageCase.case_id == Case.id)
    .where(MessageCase.message_id == bindparam("id"))
    .order_by(Case.id)
    .with_for_update()
    .execution_options(populate_existing=True)
)


def _mark_sent(session: Session, message: Message, policy: Policy, now: datetime) -> None:
    for case in _message_cases(session, message):
        rules = policy.rules_for(case.classification, case.country)
        if case.first_message_at is None:
            case.first_message_at = now
        case.last_message_at = now
        case.messages_sent += 1
        if case.state in ("new", "reappeared"):
            transition(
                session, case, "notified", at=now, reason=f"{message.kind} {message.ticket} sent"
            )
        if message.escalation_level > case.escalation_level:
            case.escalation_level = message.escalation_level
            if case.state in ("notified", "reachable"):
                transition(
                    session,
                    case,
                    "escalated",
                    at=now,
                    reason=f"escalated to level {message.escalation_level} "
                    f"({message.to_address}) by {message.ticket}",
                )
        if case.state in MESSAGE_STATES and not case.held:
            case.next_message_at = now + rules.renotice


def _mark_failed(
    session: Session, message: Message, policy: Policy, now: datetime, detail: str | None
) -> None:
    contact = session.get(Contact, message.contact_id) if message.contact_id else None
    if contact is not None:
        contact.bounce_count += 1
        contact.last_bounce_at = now
        contact.last_bounce_reason = detail
    for case in _message_cases(session, message):
        rules = policy.rules_for(case.classification, case.country)
        if case.state in MESSAGE_STATES and not case.held:
            case.next_message_at = now + rules.renotice
