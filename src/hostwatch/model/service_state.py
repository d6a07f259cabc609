"""State the web service keeps in the database so that every worker process shares it.

``serve --workers N`` runs N processes: a portal session opened by one must be closed for all,
and a rate limit kept in one process's memory would be N limits. Both live here.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from hostwatch.model.base import Base, IdType, UTCDateTime


class PortalSession(Base):
    """A browser's login: a random id in its cookie, stored only as a hash, tied to a token.

    The cookie never carries the bearer token itself; the session ends at logout, at
    ``expires_at``, or when its token is revoked or expires.
    """

    __tablename__ = "portal_sessions"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    session_hash: Mapped[str] = mapped_column(String(64), unique=True)
    token_id: Mapped[int] = mapped_column(ForeignKey("api_tokens.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (Index(None, "token_id"),)


class RateBucket(Base):
    """One token bucket of a rate limit (``limit`` names it: login, submit) for one key."""

    __tablename__ = "rate_buckets"

    limit_name: Mapped[str] = mapped_column(String(32), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    tokens: Mapped[float] = mapped_column(Float)
    stamp: Mapped[float] = mapped_column(Float)  # seconds since the epoch of the last refill
