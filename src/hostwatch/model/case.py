"""The notice-and-takedown work for one URL at one responsible party."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from hostwatch.model.base import Base, IdType, UTCDateTime

CASE_STATES = (
    "new",
    "notified",
    "reachable",
    "offline-pending",
    "removed",
    "reappeared",
    "moved",
    "escalated",
    "closed",
    "unconfirmed",
    "not-checkable",
)


class Case(Base):
    """A projection of the records about one URL at one party, kept for queueing.

    Every change of ``state`` is an audit event with time and reason, so the state history can be
    replayed from the audit log; timing fields (first message, last online, first offline) are
    derived from messages and checks. ``party_key`` makes "one case per URL per responsible party"
    a database constraint even when the provider is still unknown. ``version`` guards concurrent
    workers (optimistic locking).
    """

    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    url_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("urls.id"))
    party_key: Mapped[str] = mapped_column(String(64))
    ticket: Mapped[str | None] = mapped_column(String(32))
    """The case's reference for life, quoted in every message about it (set when first planned)."""
    provider_id: Mapped[int | None] = mapped_column(ForeignKey("providers.id"))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"))
    attribution_id: Mapped[int | None] = mapped_column(ForeignKey("attributions.id"))
    reseller: Mapped[str | None] = mapped_column(Text)
    country: Mapped[str | None] = mapped_column(String(2))
    classification: Mapped[str | None] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(20), default="new")
    state_since: Mapped[datetime] = mapped_column(UTCDateTime)
    held: Mapped[bool] = mapped_column(Boolean, default=False)
    triage: Mapped[str | None] = mapped_column(String(16))
    """None: a source that is assessed reported it; else pending, or the analyst's verdict
    (illegal, not-illegal, not-reachable). Only notices wait for it (``takedown.triage``)."""
    hold_reason: Mapped[str | None] = mapped_column(Text)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    first_message_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_message_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_message_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_check_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    messages_sent: Mapped[int] = mapped_column(Integer, default=0)
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)
    failed_checks: Mapped[int] = mapped_column(Integer, default=0)
    last_online_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_offline_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012
    __table_args__ = (
        UniqueConstraint("url_id", "party_key"),
        Index(None, "state", "next_check_at"),
        Index(None, "state", "next_message_at"),
        Index(None, "provider_id"),
        Index(None, "ticket", unique=True),
        Index(None, "attribution_id"),  # a provider's cases, from the attributions it may read
        Index(None, "triage"),
    )
