"""A reported URL in canonical form: the unit that notices name and cases follow."""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hostwatch.model.base import Base, UTCDateTime


def url_id(canonical_url: str) -> int:
    """A stable 63-bit id from the canonical URL.

    Content-addressed ids let bulk intake insert URLs and the notices that point at them in one
    pass, with ``ON CONFLICT DO NOTHING`` and no round trip to learn generated keys.
    """
    digest = hashlib.sha256(canonical_url.encode("utf-8", "surrogatepass")).digest()
    return int.from_bytes(digest[:8], "big") >> 1


class Url(Base):
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
