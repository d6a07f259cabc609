"""Providers' responses to the monitor report (right of reply), as entered by the analyst."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hostwatch.model.base import Base, IdType, UTCDateTime


class ReportReply(Base):
    """One provider's response for one reporting period, printed in the report's right-of-reply
    section. ``provider`` is the name as the report prints it; ``period`` the period's label
    (``2025``, ``2025Q1``, ``FROM..TO``) so that a reply belongs to exactly one report."""

    __tablename__ = "report_replies"
    __table_args__ = (Index("ix_report_replies_period_provider", "period", "provider"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    provider: Mapped[str] = mapped_column(Text)
    period: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    entered_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
