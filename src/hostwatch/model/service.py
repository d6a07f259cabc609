"""Access to the service: API tokens, and the watchlist of known bad parties."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hostwatch.model.base import Base, IdType, UTCDateTime


class ApiToken(Base):
    """A bearer token, stored only as a hash; expiring and revocable."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(
        String(16)
    )  # admin | analyst | researcher | regulator | provider
    provider_id: Mapped[int | None] = mapped_column(ForeignKey("providers.id"))
    label: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class WatchlistEntry(Base):
    """A party on a warning list (e.g. the police list of bad resellers), matched on attribution."""

    __tablename__ = "watchlist_entries"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # asn | prefix | org | name | domain
    value: Mapped[str] = mapped_column(String(300))
    list_name: Mapped[str] = mapped_column(String(100))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (UniqueConstraint("kind", "value", "list_name"),)


class ContactRequest(Base):
    """A provider's wish to change its abuse contact; it takes effect only when an analyst confirms.

    A provider's own word must not redirect notices (a hijacked account could route them away), so
    the request waits here with its status until a person decides.
    """

    __tablename__ = "contact_requests"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"))
    email: Mapped[str] = mapped_column(String(320))
    note: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending|confirmed|rejected
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    requested_by: Mapped[str] = mapped_column(String(100))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(100))

    __table_args__ = (Index(None, "provider_id", "status"),)
