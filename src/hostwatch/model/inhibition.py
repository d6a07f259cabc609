"""Do-not-notify rules: no notice goes out for a case that a live rule matches."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hostwatch.model.base import Base, IdType, UTCDateTime


class Inhibition(Base):
    """One rule: by ``kind`` (asn | prefix | provider | classification) and ``value``.

    A rule applies from ``created_at`` until ``expires_at`` or until it is removed; removal sets
    ``removed_at`` instead of deleting the row, so a case's history can still say which rule kept
    its notice back and why.
    """

    __tablename__ = "inhibitions"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    value: Mapped[str] = mapped_column(String(300))
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(100))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    removed_by: Mapped[str | None] = mapped_column(String(100))

    __table_args__ = (Index(None, "kind", "value"), Index(None, "expires_at"))
