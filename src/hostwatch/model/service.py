"""Access to the service: API tokens, and the watchlist of known bad parties."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
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
