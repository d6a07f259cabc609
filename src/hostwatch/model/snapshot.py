"""Dated reference-data snapshots: which routing table, AS list or WHOIS dump held at a time."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hostwatch.model.base import Base, IdType, JsonType, UTCDateTime


class Snapshot(Base):
    """One loaded reference file. The bulk data stays in files; this row is its catalogue entry.

    ``valid_at`` is when the data describes the internet (a RIB's dump time), not when we loaded
    it, so that an attribution for a notice at time t can pick the newest snapshot not after t.
    """

    __tablename__ = "snapshots"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    kind: Mapped[str] = mapped_column(
        String(32)
    )  # routing | asnames | as2org | delegated | rpsl ...
    name: Mapped[str] = mapped_column(Text)
    valid_at: Mapped[datetime] = mapped_column(UTCDateTime)
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    path: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    rows: Mapped[int] = mapped_column(Integer, default=0)
    meta: Mapped[dict[str, Any] | None] = mapped_column(JsonType)

    __table_args__ = (UniqueConstraint("kind", "sha256"),)
