"""A liveness check: what our checker saw at a time, without any content."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hostwatch.model.base import Base, IdType, JsonType, UTCDateTime


class Check(Base):
    """One probe of one URL. Never updated.

    ``online`` is "reachable with a success or redirect status", which is not "content present":
    the check never reads the body. ``inconclusive_reason`` marks a check that is evidence of
    nothing about the target.
    """

    __tablename__ = "checks"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    url_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("urls.id"))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime)
    outcome: Mapped[str] = mapped_column(String(24))
    online: Mapped[bool] = mapped_column(Boolean)
    method: Mapped[str | None] = mapped_column(String(8))
    http_status: Mapped[int | None] = mapped_column(Integer)
    resolved_ip: Mapped[str | None] = mapped_column(String(45))
    redirect_chain: Mapped[list[dict[str, Any]] | None] = mapped_column(JsonType)
    headers: Mapped[dict[str, str] | None] = mapped_column(JsonType)
    timing: Mapped[dict[str, float] | None] = mapped_column(JsonType)
    duration_ms: Mapped[float | None] = mapped_column(Float)
    error: Mapped[str | None] = mapped_column(Text)
    worker: Mapped[str | None] = mapped_column(String(100))
    # Set when the check says nothing about the target (hostwatch's own fault, a failed control
    # probe, a target the policy forbids): such a check is neither "online" nor "offline".
    inconclusive_reason: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (
        Index(None, "url_id", "checked_at"),
        Index(None, "case_id", "checked_at"),
        # the metrics frame counts each history in the database, grouped by these columns in
        # this order (hostwatch.metrics.frame.summary_query): SQLite then reads this index alone,
        # in order, instead of sorting tens of millions of checks
        Index(
            "ix_checks_histories",
            "url_id",
            "case_id",
            "online",
            "outcome",
            "inconclusive_reason",
            "checked_at",
        ),
    )
