"""A check asked for at a given time, beyond the regular pace: a record, never updated.

A removal order's compliance is judged around its deadline, so enforcement asks for checks just
before and just after it; the takedown scheduler honours them without knowing why.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from hostwatch.model.base import Base, IdType, UTCDateTime


class CheckAppointment(Base):
    """Check ``case_id`` at ``due_at`` (or at the first pass after it)."""

    __tablename__ = "check_appointments"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(String(100))

    __table_args__ = (Index(None, "case_id", "due_at"),)
