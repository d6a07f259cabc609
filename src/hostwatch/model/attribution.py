"""Who hosted a URL at a time, and which snapshot said so."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from hostwatch.model.base import Base, IdType, JsonType, UTCDateTime


class Attribution(Base):
    """The chain URL -> host -> IPs -> prefix/origin AS -> organisation -> WHOIS chain -> provider.

    A computed result, never edited: recomputing adds a row (newer ``computed_at``). ``sources``
    maps each field to the snapshot (kind, name, valid_at) that gave it, and ``offsets`` how far
    each kind of snapshot and the DNS answer lie from ``at`` (seconds, snapshot minus notice).
    ``ip_origin`` is reported | resolved-at-intake | resolved-later; ``stale`` is set when a part
    is outdated or anachronistic (``stale_reason`` names them; see attribution.staleness).
    """

    __tablename__ = "attributions"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    url_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("urls.id"))
    notice_id: Mapped[int | None] = mapped_column(ForeignKey("notices.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(32))  # ok | no-address | unrouted | dns-failed ...
    reason: Mapped[str | None] = mapped_column(Text)  # why a status other than ok
    host: Mapped[str] = mapped_column(Text)
    ips: Mapped[list[str] | None] = mapped_column(JsonType)
    ip: Mapped[str | None] = mapped_column(String(45))
    prefix: Mapped[str | None] = mapped_column(String(50))
    origin_asn: Mapped[int | None] = mapped_column(BigInteger)
    origin_asns: Mapped[list[int] | None] = mapped_column(JsonType)
    as_name: Mapped[str | None] = mapped_column(Text)
    as_org: Mapped[str | None] = mapped_column(Text)
    whois_chain: Mapped[list[dict[str, Any]] | None] = mapped_column(JsonType)
    provider_id: Mapped[int | None] = mapped_column(ForeignKey("providers.id"))
    reseller: Mapped[str | None] = mapped_column(Text)
    country: Mapped[str | None] = mapped_column(String(2))
    abuse_contact: Mapped[str | None] = mapped_column(String(320))
    behind_cdn: Mapped[bool] = mapped_column(Boolean, default=False)
    shared_platform: Mapped[str | None] = mapped_column(String(100))  # e.g. github.io
    # network holder, resellers, customer: level, name, handle, country, kind
    # (hostwatch.attribution.parties); shown only through parties.shown_party
    parties: Mapped[list[dict[str, Any]] | None] = mapped_column(JsonType)
    sources: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    ip_origin: Mapped[str | None] = mapped_column(String(32))
    stale: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    stale_reason: Mapped[str | None] = mapped_column(String(200))  # e.g. "routing:outdated"

    __table_args__ = (
        Index(None, "url_id", "at"),
        Index(None, "provider_id"),
        Index(None, "notice_id"),
        Index(None, "origin_asn"),  # a provider's verified ASNs: which cases it may read
    )
