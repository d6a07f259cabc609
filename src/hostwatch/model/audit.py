"""The append-only audit log, chained by hashes so that tampering is evident.

Every event carries the hash of the one before it; ``verify_chain`` recomputes the chain and names
the first event that does not fit. Appends are serialised (an advisory lock on PostgreSQL, the
write lock on SQLite) so that concurrent workers cannot fork the chain.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Index, String, Text, select, text
from sqlalchemy.orm import Mapped, Session, mapped_column

from hostwatch.model.base import Base, IdType, JsonType, UTCDateTime

GENESIS = "0" * 64
_LOCK_KEY = 0x686F7374  # "host": the advisory lock that serialises appends on PostgreSQL


class AuditEvent(Base):
    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))

    __table_args__ = (Index(None, "object_type", "object_id"), Index(None, "at"))


def event_hash(prev_hash: str, event: AuditEvent) -> str:
    """The digest over the previous hash and every field a reader relies on."""
    payload = json.dumps(
        [
            prev_hash,
            event.at.isoformat(),
            event.actor,
            event.action,
            event.object_type,
            event.object_id,
            event.reason,
            event.data,
        ],
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=True,
        default=str,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def record(
    session: Session,
    *,
    at: datetime,
    actor: str,
    action: str,
    object_type: str,
    object_id: object,
    reason: str | None = None,
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event to the chain inside the caller's transaction.

    The first event of a transaction takes the append lock and reads the chain's tail; the
    transaction then holds the lock, so its later events chain onto the one before without
    reading again (a delivery or a check writes several, and each read cost a flush).
    """
    transaction = session.get_nested_transaction() or session.get_transaction()
    tail = session.info.get(_TAIL)
    chained = tail is not None and tail[0] is transaction
    if chained:
        prev = tail[1].hash
    else:
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
        session.flush()
        prev = session.scalar(_TAIL_HASH)
    event = AuditEvent(
        at=at,
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        reason=reason,
        data=data,
        prev_hash=prev or GENESIS,
    )
    event.hash = event_hash(event.prev_hash, event)
    session.add(event)
    if not chained:
        session.flush()  # the insert takes SQLite's write lock for the rest of the transaction
        transaction = session.get_nested_transaction() or session.get_transaction()
    session.info[_TAIL] = (transaction, event)
    return event


_TAIL_HASH = select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)
_TAIL = "hostwatch.audit.tail"
"""Session.info key: the transaction that last appended, and its event."""


@dataclass(frozen=True)
class ChainBreak:
    event_id: int
    problem: str


def verify_chain(session: Session, batch: int = 10_000) -> Iterator[ChainBreak]:
    """Yield every place where the stored chain does not recompute (empty = intact)."""
    prev = GENESIS
    query = select(AuditEvent).order_by(AuditEvent.id).execution_options(yield_per=batch)
    for event in session.scalars(query):
        if event.prev_hash != prev:
            yield ChainBreak(event.id, "prev_hash does not match the event before it")
        if event_hash(event.prev_hash, event) != event.hash:
            yield ChainBreak(event.id, "hash does not match the event's content")
        prev = event.hash
