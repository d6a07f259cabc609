"""Deciding which messages are due, writing them as intents, and delivering the intents.

Sending is split so that a worker killed at any moment neither loses nor duplicates a message:

1. plan: in one transaction, the due cases are locked (waiting for a check that is recording its
   result, so no due case is left out), one Message (the intent) per contact is written with its
   MessageCase rows, and the cases stop being due;
2. deliver: each message without a final delivery is locked (``FOR UPDATE SKIP LOCKED``, so two
   workers never take the same one), handed to the transport, and its Delivery and the case
   timings are written in that same transaction.

A worker that dies after step 1 leaves an intent that the next delivery pass sends. One that
dies during step 2 rolls back; if the server had already answered 250, the delivery journal
(:mod:`hostwatch.takedown.delivery_journal`) says so and the message is recorded as sent at that
time instead of being sent again; if not, it is sent again with the same Message-ID, which
receivers treat as the same mail. The 24-hour clock starts at the first delivery, not the plan.
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
from hostwatch.model.notice import Notice
from hostwatch.model.party import Contact
from hostwatch.model.url import Url
from hostwatch.settings import Settings
from hostwatch.takedown.cases import hoster_contact
from hostwatch.takedown.compose import Item, build_email, compose, message_id, new_ticket
from hostwatch.takedown.contacts import ContactBook
from hostwatch.takedown.policy import Policy, Rules, Step
from hostwatch.takedown.send import MAX_ATTEMPTS, Attempt, Transport, backoff
from hostwatch.takedown.states import transition
from hostwatch.takedown.triage import NOTICE_MAY_GO, assessment

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


@dataclass(frozen=True)
class Target:
    contact: Contact
    level: int
    role: str
    kind: str


def _usable(contact: Contact | None) -> Contact | None:
    if contact is None or contact.do_not_notify or not contact.active or not contact.email:
        return None
    return contact


def _step_contact(
    session: Session, case: Case, step: Step, host: str, ip: str | None, book: ContactBook
) -> Contact | None:
    hoster = session.get(Contact, case.contact_id) if case.contact_id else None
    if step.role == "hoster":
        return _usable(hoster)
    found = book.find(
        roles=_STEP_ROLES[step.role],
        ip=ip,
        provider_id=case.provider_id,
        host=host,
        country=case.country,
    )
    if found is not None and hoster is not None and found.id == hoster.id:
        return None
    return _usable(found)


def choose_target(
    session: Session, case: Case, rules: Rules, now: datetime, book: ContactBook
) -> Target | None:
    """Whom this due case goes to now: the highest ladder step reached that has a contact.

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
    intervals = case.messages_sent
    if hoster is not None and hoster.police_route:
        intervals = max(step.after_intervals for step in rules.ladder)
    for level, step in rules.steps_reached(intervals):
        contact = _step_contact(session, case, step, host, ip, book)
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
        return Target(contact, level, step.role, kind)
    return None


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


def _item(session: Session, case: Case, kind: str) -> Item:
    url = session.get(Url, case.url_id)
    attribution = session.get(Attribution, case.attribution_id) if case.attribution_id else None
    reported = session.scalar(
        select(func.min(Notice.received_at)).where(Notice.url_id == case.url_id)
    )
    judged = assessment(session, case)
    return Item(
        case_id=case.id,
        url=url.url if url else "",
        ip=attribution.ip if attribution else None,
        classification=case.classification,
        kind="notice" if kind in ("notice", "escalation") else kind,
        first_message_at=case.first_message_at,
        reported_at=reported,
        assessed_on=judged.assessed_on,
        reported_by=judged.reported_by,
        legal_basis=judged.legal_basis,
    )


def plan_messages(session: Session, settings: Settings, policy: Policy, now: datetime) -> list[int]:
    """Write one message intent per contact (and ladder level) for every due case; return ids."""
    groups: dict[tuple[int, int], list[tuple[Case, Target]]] = defaultdict(list)
    due = _due_cases(session, now)
    if not due:  # most passes: the contact book is not worth loading
        return []
    book = ContactBook.load(session)
    for case in due:
        rules = policy.rules_for(case.classification, case.country)
        target = choose_target(session, case, rules, now, book)
        if target is None:
            case.next_message_at = now + rules.renotice
            continue
        opening = rules.shift(now)
        interval = target.contact.group_interval_hours
        if interval > 0 and (last := _last_message_at(session, target.contact.id)):
            opening = max(opening, last + timedelta(hours=interval))
        if opening > now:
            case.next_message_at = opening
            continue
        groups[(target.contact.id, target.level)].append((case, target))
    created = []
    for (_contact_id, level), members in groups.items():
        contact = members[0][1].contact
        ticket = new_ticket(now)
        items = [_item(session, case, target.kind) for case, target in members]
        kinds = {target.kind for _, target in members}
        composed = compose(
            settings,
            contact_name=contact.name,
            role=members[0][1].role,
            level=level,
            items=items,
            ticket=ticket,
            now=now,
        )
        message = Message(
            ticket=ticket,
            contact_id=contact.id,
            to_address=contact.email,
            kind=kinds.pop() if len(kinds) == 1 else "digest",
            escalation_level=level,
            subject=composed.subject,
            body=composed.body,
            xarf=composed.xarf,
            message_id_header=message_id(ticket, settings),
            created_at=now,
        )
        session.add(message)
        session.flush()
        for case, _target in members:
            session.add(MessageCase(message_id=message.id, case_id=case.id))
            case.next_message_at = None
        created.append(message.id)
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
    mail = build_email(message, settings)
    accepted_at = transport.accepted_before(mail)
    if accepted_at is not None:  # accepted, then the process died before this was committed
        attempt = Attempt(transport.name, "sent", 250, "accepted before a restart (journal)")
        now = accepted_at
    else:
        attempt = transport.send(mail, message.ticket, now)
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
