"""Trust in sources, and the analysts' verdicts on notices that no one had assessed yet.

A source is *assessed* when its reports were already judged by a hotline analyst or a trusted
flagger (the hotline's own case tool, a partner hotline): notice-and-takedown starts at once. An
*unassessed* source (public reports, feeds) only opens cases; their notices wait for an analyst's
verdict. ``SourceTrust`` holds what someone configured; a source nobody configured takes the
default of the format it came in (:mod:`hostwatch.ingest.sources`). Verdicts are records: never
updated, each also an audit event.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hostwatch.model.base import Base, IdType, UTCDateTime


class SourceTrust(Base):
    """The trust level someone set for one source (by its name as notices carry it)."""

    __tablename__ = "source_trust"

    source: Mapped[str] = mapped_column(String(200), primary_key=True)
    assessed: Mapped[bool] = mapped_column(Boolean)
    set_at: Mapped[datetime] = mapped_column(UTCDateTime)
    set_by: Mapped[str] = mapped_column(String(100))


class TriageVerdict(Base):
    """An analyst's verdict on one case that waited for triage. Never updated."""

    __tablename__ = "triage_verdicts"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    verdict: Mapped[str] = mapped_column(String(16))  # illegal | not-illegal | not-reachable
    classification: Mapped[str | None] = mapped_column(String(64))
    legal_basis: Mapped[str | None] = mapped_column(Text)
    analyst: Mapped[str] = mapped_column(String(100))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index(None, "case_id"), Index(None, "decided_at"))
