"""The parties: hosting providers, what they own, and whom to write to."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hostwatch.model.base import Base, IdType, UTCDateTime


class Provider(Base):
    """A business that hosts (or fronts, or registers) content: the unit the monitor names.

    Built automatically from AS sibling data and WHOIS organisations (``source='auto'``) and
    corrected by hand (``source='manual'``), which always wins and keeps its provenance.
    """

    __tablename__ = "providers"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    name: Mapped[str] = mapped_column(String(300), unique=True)
    kind: Mapped[str] = mapped_column(String(32), default="hosting")
    country: Mapped[str | None] = mapped_column(String(2))
    is_cdn: Mapped[bool] = mapped_column(Boolean, default=False)
    is_shared_platform: Mapped[bool] = mapped_column(Boolean, default=False)
    source: Mapped[str] = mapped_column(String(16), default="auto")
    provenance: Mapped[str | None] = mapped_column(Text)
    notes: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ProviderAsset(Base):
    """Something a provider holds: an ASN, a prefix, a WHOIS organisation or a domain.

    ``standing`` says who vouches for it: ``automatic`` (reference data), ``manual`` (an analyst
    typed it in; it wins over automatic data in attribution) or ``verified`` (an admin confirmed
    ownership). Only verified assets give a provider's users access to cases on them. Every write
    goes through :mod:`hostwatch.attribution.assets`.
    """

    __tablename__ = "provider_assets"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))  # asn | prefix | org | domain
    value: Mapped[str] = mapped_column(String(300))
    standing: Mapped[str] = mapped_column(String(16), default="automatic")
    provenance: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        UniqueConstraint("provider_id", "kind", "value"),
        Index(None, "kind", "value"),
    )


class Contact(Base):
    """An address to notify, for a provider, reseller, registrar or authority.

    Automatic entries come from attribution (abuse mailboxes) and can be re-imported; manual
    entries win over them. ``network`` scopes a contact to a CIDR inside the provider's space,
    which is how a reseller's own abuse desk is reached.

    ``channel`` says how messages reach it: ``email`` (SMTP), ``webhook`` (an HTTPS POST to
    ``webhook_url``, signed with ``webhook_secret``; :mod:`hostwatch.takedown.webhook`) or
    ``feed`` (no push: the provider reads its feed). The secret is never shown back.
    """

    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    provider_id: Mapped[int | None] = mapped_column(ForeignKey("providers.id"))
    name: Mapped[str] = mapped_column(String(300))
    role: Mapped[str] = mapped_column(String(32), default="provider")
    email: Mapped[str | None] = mapped_column(String(320))
    network: Mapped[str | None] = mapped_column(String(50))
    # A registrar's contact is scoped by the domain it registers, an authority's by country.
    domain: Mapped[str | None] = mapped_column(String(253))
    country: Mapped[str | None] = mapped_column(String(2))
    source: Mapped[str] = mapped_column(String(16), default="auto")
    provenance: Mapped[str | None] = mapped_column(Text)
    notes: Mapped[str | None] = mapped_column(Text)
    do_not_notify: Mapped[bool] = mapped_column(Boolean, default=False)
    police_route: Mapped[bool] = mapped_column(Boolean, default=False)
    preferred_format: Mapped[str] = mapped_column(String(16), default="email")
    language: Mapped[str] = mapped_column(String(8), default="en")
    group_interval_hours: Mapped[float] = mapped_column(Float, default=0.0)
    channel: Mapped[str] = mapped_column(String(16), default="email", server_default="email")
    webhook_url: Mapped[str | None] = mapped_column(String(320))
    webhook_secret: Mapped[str | None] = mapped_column(String(200))
    bounce_count: Mapped[int] = mapped_column(Integer, default=0)
    last_bounce_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_bounce_reason: Mapped[str | None] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index(None, "provider_id"), Index(None, "network"))
