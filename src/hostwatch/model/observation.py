"""What was seen at a time by someone other than our checker: DNS answers, feed listings."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hostwatch.model.base import Base, IdType, JsonType, UTCDateTime


class Observation(Base):
    """A timestamped fact with its source. Never updated.

    ``kind`` is ``dns`` (an answer: addresses, CNAME chain, resolver), ``listing`` (a feed saw the
    URL online or no longer listed it; ``online`` says which) or another source-specific kind.
    """

    __tablename__ = "observations"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    observed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    source: Mapped[str] = mapped_column(String(200))
    url_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("urls.id"))
    host: Mapped[str | None] = mapped_column(Text)
    online: Mapped[bool | None] = mapped_column(Boolean)
    notice_id: Mapped[int | None] = mapped_column(ForeignKey("notices.id"))
    data: Mapped[dict[str, Any] | None] = mapped_column(JsonType)

    __table_args__ = (
        Index(None, "url_id", "observed_at"),
        Index(None, "host", "observed_at"),
        Index(None, "kind", "observed_at"),  # the checker's health records, as outage windows
    )
