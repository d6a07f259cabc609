"""Messages sent to contacts, the cases each covers, and every delivery attempt."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hostwatch.model.base import Base, IdType, JsonType, UTCDateTime


class Message(Base):
    """One composed notice (e-mail or API call) to one contact. Never updated.

    Whether and when it went out is told by its deliveries, so a retry or a bounce adds a record
    instead of rewriting this one.
    """

    __tablename__ = "messages"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    ticket: Mapped[str] = mapped_column(String(64), unique=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"))
    to_address: Mapped[str] = mapped_column(String(320))
    kind: Mapped[str] = mapped_column(
        String(16)
    )  # notice | renotice | escalation | reappeared | referral | digest
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)
    subject: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    xarf: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    message_id_header: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The thread this message continues for its recipient: the ticket its subject keeps and the
    # RFC 5322 In-Reply-To / References it carries (None on the first message of a thread).
    thread: Mapped[str | None] = mapped_column(String(64))
    in_reply_to: Mapped[str | None] = mapped_column(String(200))
    references_header: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index(None, "contact_id"),)


class MessageCase(Base):
    __tablename__ = "message_cases"

    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"), primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), primary_key=True)

    __table_args__ = (Index(None, "case_id"),)


class Delivery(Base):
    """One attempt to deliver a message, or a bounce read back later. Never updated."""

    __tablename__ = "deliveries"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"))
    attempted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    transport: Mapped[str] = mapped_column(String(16))  # smtp | outbox | api
    outcome: Mapped[str] = mapped_column(String(16))  # sent | tempfail | failed | bounced
    smtp_code: Mapped[int | None] = mapped_column(Integer)
    detail: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index(None, "message_id", "attempted_at"),)
