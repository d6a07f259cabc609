"""Notices as received, and the intake runs that brought them in."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hostwatch.model.base import Base, IdType, JsonType, UTCDateTime


class IngestRun(Base):
    """One ``hostwatch ingest`` of one file: what it read, kept, skipped and rejected."""

    __tablename__ = "ingest_runs"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    source: Mapped[str] = mapped_column(String(200))
    format: Mapped[str] = mapped_column(String(32))
    path: Mapped[str] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lines: Mapped[int] = mapped_column(Integer, default=0)
    accepted: Mapped[int] = mapped_column(Integer, default=0)
    duplicates: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    rejects_path: Mapped[str | None] = mapped_column(Text)


class Notice(Base):
    """One report of one URL, exactly as received. Never updated.

    ``notice_key`` identifies it across re-ingests: a digest of source, reference and canonical URL,
    or of source and the raw line where the reporter gave no reference. Its uniqueness is an
    index rather than a table constraint so that a bulk load into SQLite can set it aside and
    build it once at the end (:mod:`hostwatch.model.bulk_indexes`).
    """

    __tablename__ = "notices"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    notice_key: Mapped[str] = mapped_column(String(64))
    url_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("urls.id"))
    source: Mapped[str] = mapped_column(String(200))
    format: Mapped[str] = mapped_column(String(32))
    reference: Mapped[str | None] = mapped_column(Text)
    classification: Mapped[str | None] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reported_ip: Mapped[str | None] = mapped_column(String(45))
    raw: Mapped[str] = mapped_column(Text)
    line_no: Mapped[int | None] = mapped_column(Integer)
    ingest_run_id: Mapped[int | None] = mapped_column(ForeignKey("ingest_runs.id"))
    extra: Mapped[dict[str, Any] | None] = mapped_column(JsonType)

    __table_args__ = (
        Index("uq_notices_notice_key", "notice_key", unique=True),
        Index(None, "url_id"),
        Index(None, "received_at"),
    )
