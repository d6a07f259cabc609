"""The regulator's records: removal orders, what happened to them, sanctions and turnovers.

All of these are records in the DESIGN.md sense: inserted once, never updated. An amendment or a
withdrawal of an order is a new ``Order`` row naming the one it changes; delivery,
acknowledgement and objection are ``OrderEvent`` rows; a sanction proposal, the regulator's
decision and the provider's objection are ``SanctionRecord`` rows. Whether an order was met is
never stored: it is judged from the checks each time (hostwatch.enforcement.compliance).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hostwatch.model.base import Base, IdType, JsonType, UTCDateTime


class Order(Base):
    """One removal order to one hosting provider, for one or more cases, with a deadline.

    ``kind`` is ``order`` (the original), ``amendment`` (a new deadline or basis for the order in
    ``amends_id``) or ``withdrawal``. The deadline in force is the latest amendment's.
    """

    __tablename__ = "orders"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    reference: Mapped[str] = mapped_column(String(40), unique=True)
    kind: Mapped[str] = mapped_column(String(16), default="order")
    amends_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"))
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"))
    classification: Mapped[str] = mapped_column(String(64))
    basis: Mapped[str] = mapped_column(Text)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    deadline_hours: Mapped[float] = mapped_column(Float)
    deadline_at: Mapped[datetime] = mapped_column(UTCDateTime)
    issued_by: Mapped[str] = mapped_column(String(100))
    contact_email: Mapped[str | None] = mapped_column(String(320))
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))

    __table_args__ = (Index(None, "provider_id", "issued_at"), Index(None, "amends_id"))


class OrderCase(Base):
    """A case (one URL at the provider) that an order covers."""

    __tablename__ = "order_cases"

    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), primary_key=True)

    __table_args__ = (Index(None, "case_id"),)


class OrderEvent(Base):
    """Something that happened to an order: ``delivered``, ``delivery-failed``,
    ``acknowledged``, ``objection``, ``proposed`` (an analyst's proposal, before issue)."""

    __tablename__ = "order_events"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"))
    kind: Mapped[str] = mapped_column(String(24))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(100))
    text: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index(None, "order_id", "at"),)


class OrderProposal(Base):
    """An analyst's proposal that the regulator issue an order for a case."""

    __tablename__ = "order_proposals"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    proposed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    proposed_by: Mapped[str] = mapped_column(String(100))
    note: Mapped[str | None] = mapped_column(Text)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"))


class ProviderTurnover(Base):
    """A provider's annual turnover as the regulator entered it: the base of a fine ceiling."""

    __tablename__ = "provider_turnovers"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"))
    year: Mapped[int] = mapped_column(Integer)
    amount_eur: Mapped[float] = mapped_column(Float)
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    entered_by: Mapped[str] = mapped_column(String(100))

    __table_args__ = (Index(None, "provider_id", "year"),)


class SanctionRecord(Base):
    """A step in a sanction: ``proposal`` (computed amounts and the evidence behind them),
    ``decision`` (the regulator's, naming the proposal; ``published`` puts it in the public
    register) or ``response`` (the provider's objection or reply to a decision)."""

    __tablename__ = "sanctions"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    reference: Mapped[str] = mapped_column(String(40), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    refers_to_id: Mapped[int | None] = mapped_column(ForeignKey("sanctions.id"))
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"))
    period: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(100))
    amount_eur: Mapped[float | None] = mapped_column(Float)
    outcome: Mapped[str | None] = mapped_column(String(32))
    published: Mapped[bool] = mapped_column(Boolean, default=False)
    text: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any] | None] = mapped_column(JsonType)

    __table_args__ = (Index(None, "provider_id", "kind"),)
