"""Tickets and threads: a case keeps one ticket for life, and a recipient sees one thread.

Every follow-up to the same contact about a case replies to the last message that contact got
about it (RFC 5322 In-Reply-To and References, our own Message-IDs) and keeps that thread's
ticket in its subject, so an abuse desk's mail client and ticket system file the re-notice with
the first notice. Tickets are derived from the records they name, not drawn at random, so the
same records give the same tickets (a replayed year is the same to the byte).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from hostwatch.model.case import Case
from hostwatch.model.message import Message, MessageCase
from hostwatch.takedown.compose import stable_ticket

MAX_REFERENCES = 10
"""References keeps the thread's first message and the latest ones (RFC 5322 3.6.4 allows it)."""


def case_ticket(case: Case) -> str:
    """The case's ticket, given the first time it is needed and kept for life."""
    if case.ticket is None:
        case.ticket = stable_ticket("HWC", case.opened_at, case.id, case.url_id, case.party_key)
    return case.ticket


@dataclass(frozen=True)
class Thread:
    ticket: str
    in_reply_to: str | None = None
    references: str | None = None

    @property
    def follow_up(self) -> bool:
        return self.in_reply_to is not None


def thread_for(
    session: Session, contact_id: int, cases: Sequence[Case], *, kinds: Sequence[str]
) -> Thread:
    """The thread a message to ``contact_id`` about ``cases`` continues: that of the latest
    earlier message (of one of ``kinds``) to the contact about any of them, else a new one
    named by the first case's ticket."""
    parent = session.execute(
        select(Message.message_id_header, Message.references_header, Message.thread)
        .join(MessageCase, MessageCase.message_id == Message.id)
        .where(
            Message.contact_id == contact_id,
            MessageCase.case_id.in_([case.id for case in cases]),
            Message.kind.in_(kinds),
        )
        .order_by(Message.created_at.desc(), Message.id.desc())
        .limit(1)
    ).first()
    if parent is None:
        return Thread(case_ticket(cases[0]))
    header, references, ticket = parent
    chain = [*(references or "").split(), header]
    if len(chain) > MAX_REFERENCES:
        chain = [chain[0], *chain[-(MAX_REFERENCES - 1) :]]
    return Thread(ticket or case_ticket(cases[0]), header, " ".join(chain))
