"""Provider assets: the one door through which ASNs, prefixes, WHOIS organisations and domains
are tied to a provider, with one set of rules for every writer.

An asset has a **standing**, three different facts:

- ``automatic``: reference data said so (CAIDA as2org siblings, WHOIS, the shared-platform list).
  Attribution uses it when nothing better is known.
- ``manual``: an analyst typed it in (``hostwatch providers link``, ``hostwatch contacts add
  --network``). It wins over automatic data in attribution, but it is one person's claim about
  who holds a network, not a check of it.
- ``verified``: an admin confirmed the provider holds it (``hostwatch access grant``, or
  ``providers link --verified``). It also wins in attribution, and it is the **only** standing
  that opens cases to the provider's own users (:mod:`hostwatch.web.policy`): a provider never
  sees a case because an unverified record, automatic or typed, happens to name it.

Values every writer must pass (:func:`normalise`), with a message that says what is wrong:

- ``asn``: a number 1 .. 2^32-2, not AS_TRANS (23456) nor the reserved 65535;
- ``prefix``: a CIDR with no host bits, at least ``/8`` for IPv4 and ``/19`` for IPv6 (the
  largest blocks an RIR hands out; anything wider is a default-route-style mistake), and not
  overlapping special-purpose space (private, loopback, documentation, multicast, ...; the tables
  of :mod:`hostwatch.attribution.special_space`), unless it lies inside a network the deployment
  declared as lab space (the ``allow_networks`` setting: tests and the simulation run on
  loopback and documentation addresses);
- ``org``: 1 to 300 printable characters; ``domain``: a host name without spaces or slashes.

Automatic assets are written in bulk by :class:`AutomaticAssets` (tens of thousands per first
attribution); they are never verified and never prefixes.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Dialect, select
from sqlalchemy.orm import Session

from hostwatch.attribution.special_space import special_network_reason
from hostwatch.model import Provider, ProviderAsset
from hostwatch.model.audit import record
from hostwatch.model.bulk_insert import BulkInsert
from hostwatch.net.asn_numbers import parse_asn

AUTOMATIC = "automatic"
MANUAL = "manual"
VERIFIED = "verified"
STANDINGS = (AUTOMATIC, MANUAL, VERIFIED)
KINDS = ("asn", "prefix", "org", "domain")
MIN_PREFIX_LENGTH = {4: 8, 6: 19}
RESERVED_ASNS = frozenset({0, 23456, 65535, 2**32 - 1})

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class AssetError(ValueError):
    """An asset that may not be stored; the message names the value and the rule it breaks."""


@dataclass(frozen=True)
class AssetRules:
    """The deployment's part of the rules: which special-purpose space it uses as lab space."""

    lab_networks: tuple[Network, ...] = ()

    @classmethod
    def allowing(cls, networks: Iterable[str]) -> AssetRules:
        """Rules for a deployment whose ``allow_networks`` setting lists these CIDRs."""
        return cls(tuple(ipaddress.ip_network(n, strict=False) for n in networks))

    def in_lab(self, network: Network) -> bool:
        return any(
            network.version == lab.version and network.subnet_of(lab)  # type: ignore[arg-type]
            for lab in self.lab_networks
        )


def normalise_prefix(value: str, rules: AssetRules) -> str:
    """The stored form of a provider's network, or AssetError saying why it cannot be one."""
    text = value.strip()
    try:
        network = ipaddress.ip_network(text, strict=True)
    except ValueError as exc:
        raise AssetError(f"not a network prefix: {value!r} ({exc})") from None
    shortest = MIN_PREFIX_LENGTH[network.version]
    if network.prefixlen < shortest:
        raise AssetError(
            f"{network} is wider than /{shortest}: no provider holds that much IPv"
            f"{network.version} space (a default route or a typo, not a network)"
        )
    reason = special_network_reason(network)
    if reason and not rules.in_lab(network):
        raise AssetError(
            f"{network} overlaps {reason}: not a hosting provider's network "
            "(a lab network must be listed in the allow_networks setting)"
        )
    return str(network)


def normalise(kind: str, value: str, rules: AssetRules) -> str:
    """The stored form of an asset value; AssetError naming what is wrong."""
    text = value.strip()
    if kind == "asn":
        asn = parse_asn(text)
        if asn is None or asn in RESERVED_ASNS:
            raise AssetError(f"not an AS number, or a reserved one: {value!r}")
        return str(asn)
    if kind == "prefix":
        return normalise_prefix(text, rules)
    if kind == "domain":
        domain = text.lower().strip(".")
        if not domain or len(domain) > 253 or any(c in domain for c in " /\\@"):
            raise AssetError(f"not a domain name: {value!r}")
        return domain
    if kind == "org":
        if not text or len(text) > 300 or not text.isprintable():
            raise AssetError("an organisation must have 1 to 300 printable characters")
        return text
    raise AssetError(f"unknown asset kind {kind!r}; expected one of {', '.join(KINDS)}")


def _find(session: Session, provider_id: int, kind: str, value: str) -> ProviderAsset | None:
    return session.scalar(
        select(ProviderAsset).where(
            ProviderAsset.provider_id == provider_id,
            ProviderAsset.kind == kind,
            ProviderAsset.value == value,
        )
    )


def write_asset(
    session: Session,
    provider: Provider,
    kind: str,
    value: str,
    *,
    standing: str,
    provenance: str,
    now: datetime,
    rules: AssetRules,
) -> ProviderAsset:
    """Tie one asset to ``provider`` by hand, as ``manual`` or ``verified``.

    A standing is only ever raised here: typing in an asset an admin already verified keeps it
    verified (withdrawing verification is :func:`unverify`, an act of its own).
    """
    if standing not in (MANUAL, VERIFIED):
        raise AssetError(f"a hand-written asset is manual or verified, not {standing!r}")
    if not provenance.strip():
        raise AssetError("an asset written by hand needs a provenance (who says so, on what)")
    value = normalise(kind, value, rules)
    asset = _find(session, provider.id, kind, value)
    if asset is None:
        asset = ProviderAsset(provider_id=provider.id, kind=kind, value=value, created_at=now)
        session.add(asset)
    if asset.standing != VERIFIED:
        asset.standing = standing
        asset.provenance = provenance
    session.flush()
    return asset


def provider_named(session: Session, name: str) -> Provider:
    provider = session.scalar(select(Provider).where(Provider.name == name))
    if provider is None:
        raise AssetError(f"no provider named {name!r}")
    return provider


def verify(
    session: Session,
    provider_name: str,
    wanted: Sequence[tuple[str, str]],
    *,
    now: datetime,
    rules: AssetRules,
    actor: str = "cli",
) -> list[ProviderAsset]:
    """Mark (kind, value) assets of ``provider_name`` verified, adding those it lacks.

    A missing provider is created as a manual one (the admin names it). All values are checked
    before anything is written, so one bad value leaves the provider as it was.
    """
    if not wanted:
        raise AssetError("name at least one --asn, --prefix or --org")
    clean = [(kind, normalise(kind, value, rules)) for kind, value in wanted]
    provider = session.scalar(select(Provider).where(Provider.name == provider_name))
    if provider is None:
        provider = Provider(
            name=provider_name,
            source="manual",
            provenance=f"access grant by {actor}",
            created_at=now,
            updated_at=now,
        )
        session.add(provider)
        session.flush()
    out = []
    for kind, value in clean:
        asset = write_asset(
            session,
            provider,
            kind,
            value,
            standing=VERIFIED,
            provenance=f"verified by {actor}",
            now=now,
            rules=rules,
        )
        out.append(asset)
    record(
        session,
        at=now,
        actor=actor,
        action="access.grant",
        object_type="provider",
        object_id=provider.id,
        data={"assets": [[k, v] for k, v in clean]},
    )
    return out


def unverify(
    session: Session,
    provider_name: str,
    kind: str,
    value: str,
    *,
    now: datetime,
    rules: AssetRules,
    actor: str = "cli",
) -> int:
    """Withdraw verification of one asset (it stays a manual one); how many changed (0 or 1)."""
    value = normalise(kind, value, rules)
    provider = provider_named(session, provider_name)
    asset = _find(session, provider.id, kind, value)
    if asset is None or asset.standing != VERIFIED:
        return 0
    asset.standing = MANUAL
    asset.provenance = f"verification withdrawn by {actor}"
    record(
        session,
        at=now,
        actor=actor,
        action="access.revoke",
        object_type="provider",
        object_id=provider.id,
        data={"asset": [kind, value]},
    )
    return 1


def assets_of(session: Session, provider_name: str) -> list[ProviderAsset]:
    provider = provider_named(session, provider_name)
    return list(
        session.scalars(
            select(ProviderAsset)
            .where(ProviderAsset.provider_id == provider.id)
            .order_by(ProviderAsset.kind, ProviderAsset.value)
        )
    )


def verified_assets(session: Session, provider_id: int) -> tuple[tuple[str, str], ...]:
    """The (kind, value) pairs that open cases to this provider's users."""
    rows = session.execute(
        select(ProviderAsset.kind, ProviderAsset.value)
        .where(ProviderAsset.provider_id == provider_id, ProviderAsset.standing == VERIFIED)
        .order_by(ProviderAsset.id)
    )
    return tuple((kind, value) for kind, value in rows)


class AutomaticAssets:
    """Bulk insert of automatic (provider id, kind, value) assets for one attribution batch."""

    COLUMNS = ("provider_id", "kind", "value", "standing", "provenance", "created_at")

    def __init__(self, dialect: Dialect, now: datetime) -> None:
        self.now = now
        self._insert = BulkInsert(
            dialect, ProviderAsset.__table__, self.COLUMNS, ignore_conflicts=False
        )

    def insert(
        self, connection: Connection, rows: Iterable[tuple[int, str, str, str | None]]
    ) -> None:
        """Insert (provider id, kind, value, provenance) rows; prefixes are never automatic."""
        values = []
        for provider_id, kind, value, provenance in rows:
            if kind not in ("asn", "org", "domain"):
                raise AssetError(f"an automatic asset is an asn, org or domain, not {kind!r}")
            values.append((provider_id, kind, value, AUTOMATIC, provenance, self.now))
        if values:
            self._insert.execute(connection, values)
