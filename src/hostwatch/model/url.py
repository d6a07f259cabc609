"""A reported URL in canonical form: the unit that notices name and cases follow."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hostwatch.model.base import Base, UTCDateTime


class Url(Base):
    """Keyed by :func:`hostwatch.identity.url_id` of the canonical URL."""

    __tablename__ = "urls"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    url: Mapped[str] = mapped_column(Text)
    scheme: Mapped[str] = mapped_column(String(16))
    host: Mapped[str] = mapped_column(Text)
    host_type: Mapped[str] = mapped_column(String(8))  # domain | ipv4 | ipv6
    port: Mapped[int | None] = mapped_column(Integer)
    registered_domain: Mapped[str | None] = mapped_column(Text)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index(None, "host"),
        Index(None, "registered_domain"),
    )
