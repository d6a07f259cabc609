"""The contact book: whom to write to about a case, and how.

Automatic entries are the abuse mailboxes attribution found; they can be re-imported at any time
and are then refreshed in place. Manual entries are what an analyst knows better (a reseller's own
desk, a "do not notify", a police route) and always win. A manual entry for a network also makes
that network a manual asset of the named provider, so attribution names that provider there; the
network passes the asset rules of :mod:`hostwatch.attribution.assets` (no /0-style or bogon
prefix) and, being manual, never opens cases to the provider's users: only an admin's
``hostwatch access grant`` does.

Each contact has a channel (``CHANNELS``): e-mail, an HTTPS webhook with a per-contact secret
(which is stored to sign with and never shown back), or the provider feed only.
"""

from __future__ import annotations

import csv
import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from hostwatch.attribution.assets import (
    MANUAL,
    AssetError,
    AssetRules,
    normalise_prefix,
    write_asset,
)
from hostwatch.model.attribution import Attribution
from hostwatch.model.audit import record
from hostwatch.model.party import Contact, Provider

CONTACT_ROLES = (
    "provider",
    "reseller",
    "upstream",
    "registrar",
    "authority",
    "hotline",  # a partner hotline abroad, referred to by the routing table (referrals.toml)
    "cert",  # a national CERT, likewise
    "order",
)
FORMATS = ("email", "xarf")
CHANNELS = ("email", "webhook", "feed")
IMPORT_FIELDS = (
    "name",
    "email",
    "network",
    "role",
    "domain",
    "country",
    "notes",
    "do_not_notify",
    "police_route",
    "preferred_format",
    "language",
    "group_interval_hours",
    "for_provider",
    "channel",
    "webhook_url",
    "webhook_secret",
)
_MIN_SECRET = 16


class ContactError(ValueError):
    """A contact entry that cannot be stored; the message says which field and why."""


@dataclass(frozen=True)
class ContactSpec:
    """One manual contact as an analyst gives it (command line or import file)."""

    name: str
    email: str | None = None
    network: str | None = None
    role: str = "provider"
    domain: str | None = None
    country: str | None = None
    notes: str | None = None
    do_not_notify: bool = False
    police_route: bool = False
    preferred_format: str = "email"
    language: str = "en"
    group_interval_hours: float = 0.0
    for_provider: str | None = None
    provenance: str = "manual entry"
    channel: str = "email"
    webhook_url: str | None = None
    webhook_secret: str | None = field(default=None, repr=False)


def _check(spec: ContactSpec, rules: AssetRules) -> ContactSpec:
    if not spec.name.strip():
        raise ContactError("name is empty")
    if spec.email is not None and (
        "@" not in spec.email or any(c in spec.email for c in "\r\n\t ,;<>")
    ):
        raise ContactError(f"email {spec.email!r} is not a single plain address")
    if spec.role not in CONTACT_ROLES:
        raise ContactError(f"role {spec.role!r} is not one of {', '.join(CONTACT_ROLES)}")
    if spec.preferred_format not in FORMATS:
        raise ContactError(f"format {spec.preferred_format!r} is not one of {FORMATS}")
    if spec.group_interval_hours < 0:
        raise ContactError("grouping interval must not be negative")
    _check_channel(spec)
    if spec.network is not None:
        try:
            network = normalise_prefix(spec.network, rules)
        except AssetError as exc:
            raise ContactError(f"network {spec.network!r}: {exc}") from exc
        spec = ContactSpec(**{**spec.__dict__, "network": network})
    return spec


def _check_channel(spec: ContactSpec) -> None:
    if spec.channel not in CHANNELS:
        raise ContactError(f"channel {spec.channel!r} is not one of {', '.join(CHANNELS)}")
    if spec.channel != "webhook":
        if spec.webhook_url or spec.webhook_secret:
            raise ContactError(f"a webhook URL or secret needs channel webhook, not {spec.channel}")
        return
    url = spec.webhook_url or ""
    parts = urlsplit(url)
    if (
        parts.scheme != "https"
        or not parts.hostname
        or parts.username is not None
        or len(url) > 320
        or any(c in url for c in '\r\n\t <>"')
    ):
        raise ContactError(
            "webhook URL must be https://host[:port]/path, at most 320 characters, "
            "without credentials or spaces"
        )
    if spec.webhook_secret is not None and not (
        _MIN_SECRET <= len(spec.webhook_secret) <= 200 and spec.webhook_secret.isprintable()
    ):
        raise ContactError(f"webhook secret must be {_MIN_SECRET} to 200 printable characters")


def destination(contact: Contact) -> str:
    """Where a message to ``contact`` goes, as recorded on the message (never the secret)."""
    if contact.channel == "webhook":
        return contact.webhook_url or ""
    if contact.channel == "feed":
        return contact.email or "provider feed"
    return contact.email or ""


def reachable(contact: Contact, kind: str = "notice") -> bool:
    """Whether a message of ``kind`` can reach ``contact`` on its channel (a feed always can)."""
    channel = channel_for(contact, kind)
    if channel == "webhook":
        return bool(contact.webhook_url and contact.webhook_secret)
    return channel == "feed" or bool(contact.email)


def channel_for(contact: Contact | None, kind: str) -> str:
    """The channel a message of ``kind`` takes to ``contact``.

    A removal order is never left for the provider to find in its feed: to a feed-only contact
    with an address it goes by e-mail (an order contact without one is not chosen at all).
    """
    if contact is None:
        return "email"
    if kind == "order" and contact.channel == "feed":
        return "email"
    return contact.channel


def _provider(session: Session, spec: ContactSpec, now: datetime) -> Provider:
    provider = session.scalar(select(Provider).where(Provider.name == spec.name))
    kind = {
        "registrar": "registrar",
        "authority": "authority",
        "hotline": "authority",
        "cert": "authority",
    }.get(spec.role, "hosting")
    if provider is None:
        provider = Provider(name=spec.name, kind=kind, created_at=now)
        session.add(provider)
    provider.source = "manual"
    provider.provenance = spec.provenance
    if spec.country:
        provider.country = spec.country.upper()[:2]
    provider.updated_at = now
    session.flush()
    return provider


def add_contact(
    session: Session,
    spec: ContactSpec,
    *,
    now: datetime,
    actor: str = "cli",
    rules: AssetRules | None = None,
) -> Contact:
    """Store a manual contact (updating the manual entry with the same name, role and network).

    With a network, the named provider gets that network as a manual prefix asset, so attribution
    names that provider there. ``for_provider`` instead files the contact under an existing
    provider (its upstream, say) without making it a provider of its own. A domain scopes a
    registrar's contact and a country an authority's; neither becomes a provider asset (a
    registrar does not host what it registers). ``rules`` are the deployment's asset rules
    (its lab networks); without them no special-purpose network is accepted.
    """
    rules = rules or AssetRules()
    spec = _check(spec, rules)
    if spec.for_provider:
        scope = session.scalar(select(Provider).where(Provider.name == spec.for_provider))
        if scope is None:
            raise ContactError(f"no provider named {spec.for_provider!r}")
        provider = scope
    else:
        provider = _provider(session, spec, now)
        if spec.network:
            write_asset(
                session,
                provider,
                "prefix",
                spec.network,
                standing=MANUAL,
                provenance=spec.provenance,
                now=now,
                rules=rules,
            )
    contact = session.scalar(
        select(Contact).where(
            Contact.source == "manual",
            Contact.name == spec.name,
            Contact.role == spec.role,
            Contact.provider_id == provider.id,
            Contact.network.is_(None) if spec.network is None else Contact.network == spec.network,
        )
    )
    if contact is None:
        contact = Contact(name=spec.name, role=spec.role, source="manual", created_at=now)
        session.add(contact)
    contact.provider_id = provider.id
    contact.email = spec.email
    contact.network = spec.network
    contact.domain = spec.domain.lower().strip(".") if spec.domain else None
    contact.country = spec.country.upper()[:2] if spec.country else None
    contact.provenance = spec.provenance
    contact.notes = spec.notes
    contact.do_not_notify = spec.do_not_notify
    contact.police_route = spec.police_route
    contact.preferred_format = spec.preferred_format
    contact.language = spec.language
    contact.group_interval_hours = spec.group_interval_hours
    contact.channel = spec.channel
    contact.webhook_url = spec.webhook_url
    if spec.channel != "webhook":
        contact.webhook_secret = None
    elif spec.webhook_secret:
        contact.webhook_secret = spec.webhook_secret
    if spec.channel == "webhook" and not contact.webhook_secret:
        raise ContactError("a webhook contact needs a secret (--webhook-secret or --new-secret)")
    contact.active = True
    contact.updated_at = now
    session.flush()
    record(
        session,
        at=now,
        actor=actor,
        action="contact.set",
        object_type="contact",
        object_id=contact.id,
        reason=spec.provenance,
        data={
            "name": spec.name,
            "role": spec.role,
            "network": spec.network,
            "email": spec.email,
            "channel": spec.channel,
            "webhook_url": spec.webhook_url,
            "secret_changed": bool(spec.webhook_secret),
        },
    )
    return contact


def _flag(text: str) -> bool:
    return text.strip().lower() in ("1", "true", "yes", "y", "x")


def read_contacts_csv(
    path: Path, rules: AssetRules | None = None
) -> tuple[list[ContactSpec], list[str]]:
    """Read manual contacts from CSV (header: IMPORT_FIELDS, ``name`` required).

    Returns the good entries and one error per bad line naming file, line and reason.
    """
    specs: list[ContactSpec] = []
    errors: list[str] = []
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        unknown = set(reader.fieldnames or ()) - set(IMPORT_FIELDS)
        if unknown or "name" not in (reader.fieldnames or ()):
            raise ContactError(
                f"{path}:1: header must use {IMPORT_FIELDS}, got {reader.fieldnames}"
            )
        for row in reader:
            values = {k: (v or "").strip() for k, v in row.items() if k}
            try:
                spec = ContactSpec(
                    name=values["name"],
                    email=values.get("email") or None,
                    network=values.get("network") or None,
                    role=values.get("role") or "provider",
                    domain=values.get("domain") or None,
                    country=values.get("country") or None,
                    notes=values.get("notes") or None,
                    do_not_notify=_flag(values.get("do_not_notify", "")),
                    police_route=_flag(values.get("police_route", "")),
                    preferred_format=values.get("preferred_format") or "email",
                    language=values.get("language") or "en",
                    group_interval_hours=float(values.get("group_interval_hours") or 0),
                    for_provider=values.get("for_provider") or None,
                    provenance=f"import {path.name}:{reader.line_num}",
                    channel=values.get("channel") or "email",
                    webhook_url=values.get("webhook_url") or None,
                    webhook_secret=values.get("webhook_secret") or None,
                )
                specs.append(_check(spec, rules or AssetRules()))
            except (ContactError, ValueError) as exc:
                errors.append(f"{path}:{reader.line_num}: {exc}")
    return specs, errors


def import_automatic(session: Session, *, now: datetime) -> int:
    """Create or refresh an automatic contact per (provider, abuse address) attribution found."""
    pairs = session.execute(
        select(Attribution.provider_id, Attribution.abuse_contact)
        .where(Attribution.abuse_contact.is_not(None))
        .distinct()
        .order_by(Attribution.provider_id, Attribution.abuse_contact)
    ).all()
    touched = 0
    for provider_id, address in pairs:
        if automatic_contact(session, provider_id, address, now=now) is not None:
            touched += 1
    return touched


def automatic_contact(
    session: Session, provider_id: int | None, address: str | None, *, now: datetime
) -> Contact | None:
    """The automatic contact for an abuse address found by attribution, created on first sight."""
    if not address or "@" not in address or any(c in address for c in "\r\n\t ,;<>"):
        return None
    address = address.strip().lower()
    query = select(Contact).where(Contact.source == "auto", Contact.email == address)
    query = query.where(
        Contact.provider_id.is_(None) if provider_id is None else Contact.provider_id == provider_id
    )
    contact = session.scalar(query)
    if contact is None:
        name = address
        if provider_id is not None and (provider := session.get(Provider, provider_id)):
            name = provider.name
        contact = Contact(
            provider_id=provider_id,
            name=name,
            role="provider",
            email=address,
            source="auto",
            provenance="attribution abuse contact",
            created_at=now,
            updated_at=now,
        )
        session.add(contact)
    else:
        contact.updated_at = now
    session.flush()
    return contact


def automatic_registrar_contact(
    session: Session, *, domain: str, name: str, address: str, provenance: str, now: datetime
) -> Contact | None:
    """The automatic registrar contact for a registered domain (RDAP), refreshed in place."""
    if "@" not in address or any(c in address for c in "\r\n\t ,;<>"):
        return None
    query = select(Contact).where(
        Contact.source == "auto", Contact.role == "registrar", Contact.domain == domain
    )
    contact = session.scalar(query.order_by(Contact.id).limit(1))
    if contact is None:
        contact = Contact(role="registrar", domain=domain, source="auto", created_at=now)
        session.add(contact)
    contact.name, contact.email = name, address.strip().lower()
    contact.provenance, contact.updated_at = provenance, now
    session.flush()
    return contact


def _network(text: str | None) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    try:
        return ipaddress.ip_network(text, strict=False) if text else None
    except ValueError:
        return None


def _domain_match(domain: str | None, host: str | None) -> bool:
    if not domain or not host:
        return False
    host = host.lower().rstrip(".")
    return host == domain or host.endswith("." + domain)


class ContactBook:
    """The active contacts, read once per pass with their networks parsed, for many look-ups."""

    def __init__(self, contacts: Iterable[Contact]) -> None:
        self.entries = [(contact, _network(contact.network)) for contact in contacts]

    @classmethod
    def load(cls, session: Session) -> ContactBook:
        return cls(session.scalars(select(Contact).where(Contact.active.is_(True))).all())

    def find(
        self,
        *,
        roles: Sequence[str],
        ip: str | None,
        provider_id: int | None,
        host: str | None = None,
        country: str | None = None,
    ) -> Contact | None:
        """The best contact in ``roles`` for a case at ``ip`` / ``provider_id`` / ``host``.

        Manual entries beat automatic ones; then the attributed provider's own contacts; then a
        contact scoped to a network holding the address beats one for a provider as a whole, the
        most specific network first; a registrar matches by domain; an authority by its country,
        or everywhere when it has none.
        """
        try:
            address = ipaddress.ip_address(ip) if ip else None
        except ValueError:
            address = None
        best: tuple[int, int, int, int] | None = None
        found: Contact | None = None
        for contact, network in self.entries:
            if contact.role not in roles:
                continue
            own = int(provider_id is not None and contact.provider_id == provider_id)
            if (
                network is not None
                and address is not None
                and address.version == network.version
                and address in network
            ):
                specificity = network.prefixlen
            elif own:
                specificity = 0
            elif contact.network is not None:
                continue
            elif _domain_match(contact.domain, host):
                specificity = len(contact.domain or "")
            elif contact.role == "authority" and contact.country in (None, country):
                specificity = 0
            else:
                continue
            rank = (int(contact.source == "manual"), own, specificity, -contact.id)
            if best is None or rank > best:
                best, found = rank, contact
        return found


def find_contact(
    session: Session,
    *,
    roles: Sequence[str],
    ip: str | None,
    provider_id: int | None,
    host: str | None = None,
    country: str | None = None,
) -> Contact | None:
    """One look-up in a freshly read ContactBook (see ``ContactBook.find``)."""
    return ContactBook.load(session).find(
        roles=roles, ip=ip, provider_id=provider_id, host=host, country=country
    )


def list_contacts(session: Session) -> Iterable[Contact]:
    return session.scalars(select(Contact).order_by(Contact.name, Contact.id)).all()
