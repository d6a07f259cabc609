"""Provider entities: who an AS, a network, a WHOIS organisation or a domain belongs to.

Providers are built automatically the first time attribution meets their space: one per CAIDA
as2org organisation (holding all its sibling ASes), else one per AS, named from the AS lists;
shared platforms (GitHub Pages, Netlify, IPFS gateways, ...) get one per platform. People correct
this by hand (``hostwatch providers add|link``, ``hostwatch contacts add``, ``hostwatch access
grant``): manual providers have ``source='manual'``, hand-written assets the standing ``manual``
or ``verified`` (:mod:`hostwatch.attribution.assets`, the one door for asset writes), each with a
provenance, and they always win over automatic ones ("manual" below means either). The order of
precedence, first match wins:

1. manual domain asset (the host or a parent domain);
2. manual prefix asset, longest prefix holding the address first;
3. manual ASN asset (the origin AS);
4. manual organisation asset (the WHOIS network holder's or the AS's organisation);
5. the shared-platform list (automatic domain assets);
6. automatic ASN asset, then automatic organisation asset.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hostwatch.attribution.assets import (
    AUTOMATIC,
    AssetRules,
    AutomaticAssets,
    write_asset,
)
from hostwatch.attribution.assets import (
    MANUAL as MANUAL_STANDING,
)
from hostwatch.attribution.platforms import Platform
from hostwatch.attribution.prefix_index import PrefixIndex
from hostwatch.model import Attribution, Contact, Provider, ProviderAsset
from hostwatch.model.bulk_insert import BulkInsert
from hostwatch.net.addresses import AddressArray
from hostwatch.net.asn_numbers import parse_asn

if TYPE_CHECKING:
    from hostwatch.net.asnames import AsInfo

MANUAL = "manual"
AUTO = "auto"


@dataclass(frozen=True, slots=True)
class AssetHit:
    """Why an attribution names a provider: which asset matched, and who said so.

    ``source`` is the attribution level, ``manual`` (a hand-written asset, verified or not) or
    ``auto``: it orders precedence and prefixes ``via``.
    """

    provider_id: int
    kind: str
    value: str
    source: str
    provenance: str | None

    @property
    def via(self) -> str:
        return f"{self.source}-{self.kind}:{self.value}"


@dataclass(frozen=True, slots=True)
class ProviderFacts:
    id: int
    name: str
    kind: str
    is_cdn: bool
    is_shared_platform: bool
    source: str


@dataclass
class ProviderIndex:
    """All providers and assets in memory, for one attribution batch."""

    providers: dict[int, ProviderFacts] = field(default_factory=dict)
    asn: dict[str, dict[int, AssetHit]] = field(default_factory=lambda: {MANUAL: {}, AUTO: {}})
    org: dict[str, dict[str, AssetHit]] = field(default_factory=lambda: {MANUAL: {}, AUTO: {}})
    domain: dict[str, dict[str, AssetHit]] = field(default_factory=lambda: {MANUAL: {}, AUTO: {}})
    prefix_hits: list[AssetHit] = field(default_factory=list)
    prefixes: PrefixIndex = field(default_factory=lambda: PrefixIndex([]))

    @classmethod
    def load(cls, session: Session) -> ProviderIndex:
        index = cls()
        for row in session.execute(
            select(
                Provider.id,
                Provider.name,
                Provider.kind,
                Provider.is_cdn,
                Provider.is_shared_platform,
                Provider.source,
            )
        ):
            index.providers[row.id] = ProviderFacts(*row)
        assets = session.execute(
            select(
                ProviderAsset.provider_id,
                ProviderAsset.kind,
                ProviderAsset.value,
                ProviderAsset.standing,
                ProviderAsset.provenance,
            ).order_by(ProviderAsset.id)
        )
        for provider_id, kind, value, standing, provenance in assets:
            level = AUTO if standing == AUTOMATIC else MANUAL
            index.add(AssetHit(provider_id, kind, value, level, provenance))
        index.reindex_prefixes()
        return index

    def add(self, hit: AssetHit) -> None:
        level = MANUAL if hit.source == MANUAL else AUTO
        if hit.kind == "asn":
            asn = int(hit.value) if hit.value.isdigit() else parse_asn(hit.value)
            if asn is not None:
                self.asn[level].setdefault(asn, hit)
        elif hit.kind == "org":
            self.org[level].setdefault(hit.value.upper(), hit)
        elif hit.kind == "domain":
            self.domain[level].setdefault(hit.value.lower().strip("."), hit)
        elif hit.kind == "prefix" and level == MANUAL:
            self.prefix_hits.append(hit)

    def reindex_prefixes(self) -> None:
        self.prefixes = PrefixIndex((hit.value, i) for i, hit in enumerate(self.prefix_hits))

    def by_prefix(self, addresses: AddressArray) -> list[AssetHit | None]:
        """Per address, the manual prefix asset with the longest prefix holding it."""
        found = self.prefixes.match(addresses)
        return [self.prefix_hits[i] if i >= 0 else None for i in found.tolist()]

    def by_domain(self, host: str, level: str) -> AssetHit | None:
        table = self.domain[level]
        if not table:
            return None
        labels = host.lower().rstrip(".").split(".")
        for start in range(len(labels)):
            hit = table.get(".".join(labels[start:]))
            if hit is not None:
                return hit
        return None

    def by_org(self, org_ids: Iterable[str | None], level: str) -> AssetHit | None:
        table = self.org[level]
        for org_id in org_ids:
            if org_id:
                hit = table.get(org_id.upper())
                if hit is not None:
                    return hit
        return None

    def choose(
        self,
        *,
        prefix_hit: AssetHit | None,
        asn: int | None,
        orgs: list[str | None],
        platform_hit: AssetHit | None,
    ) -> AssetHit | None:
        """The provider for one address by rules 2 to 6 of the module docstring.

        Rule 1 (a manual domain) depends on the host, not the address; the caller applies it.
        """
        return (
            prefix_hit
            or (self.asn[MANUAL].get(asn) if asn else None)
            or self.by_org(orgs, MANUAL)
            or platform_hit
            or (self.asn[AUTO].get(asn) if asn else None)
            or self.by_org(orgs, AUTO)
        )


def as_org_key(org_id: str) -> str:
    """The org asset value for a CAIDA as2org organisation (kept apart from WHOIS handles)."""
    return f"as2org:{org_id}"


PROVIDER_COLUMNS = (
    "name", "kind", "country", "is_cdn", "is_shared_platform", "source", "provenance",
    "created_at", "updated_at",
)  # fmt: skip


class ProviderBuilder:
    """Creates the automatic providers a batch needs, in bulk, and adds them to the index."""

    def __init__(self, session: Session, index: ProviderIndex, now: datetime) -> None:
        self.session = session
        self.index = index
        self.now = now
        self.names = set(session.scalars(select(Provider.name)))
        # A first attribution of a large feed creates tens of thousands of providers: compiled
        # once, the inserts cost a tenth of the ORM's per-row parameter handling.
        dialect = session.get_bind().dialect
        self._insert_providers = BulkInsert(
            dialect, Provider.__table__, PROVIDER_COLUMNS, ignore_conflicts=False
        )
        self._insert_assets = AutomaticAssets(dialect, now)

    def _unique_name(self, name: str, qualifier: str) -> str:
        candidate = name[:300]
        if candidate in self.names:
            candidate = f"{name[:280]} ({qualifier})"
        serial = 2
        while candidate in self.names:
            candidate = f"{name[:270]} ({qualifier} #{serial})"
            serial += 1
        self.names.add(candidate)
        return candidate

    def for_asns(
        self,
        infos: dict[int, AsInfo | None],
        provenance: str,
        whois_names: dict[int, str | None] | None = None,
    ) -> None:
        """One provider per as2org organisation (or per AS) for ASNs no asset covers yet.

        Named after the CAIDA organisation, else the AS's WHOIS organisation (aut-num ``org``),
        else the AS name, else ``AS<n>``.
        """
        whois_names = whois_names or {}
        planned: dict[str, dict[str, Any]] = {}
        joining: list[tuple[int, str, str]] = []  # ASNs of organisations already known
        for asn in sorted(infos):
            if asn in self.index.asn[MANUAL] or asn in self.index.asn[AUTO]:
                continue
            info = infos[asn]
            org_key = as_org_key(info.org_id) if info is not None and info.org_id else None
            existing = self.index.org[AUTO].get(org_key.upper()) if org_key else None
            if existing is not None:
                joining.append((existing.provider_id, "asn", str(asn)))
                continue
            key = org_key or f"AS{asn}"
            plan = planned.get(key)
            if plan is None:
                name = (
                    (info.org_name if info else None)
                    or whois_names.get(asn)
                    or (info.name if info else None)
                    or f"AS{asn}"
                )
                tags = info.tags if info is not None else frozenset()
                kind = "cdn" if "cdn" in tags else "hosting" if "vpsh" in tags else "network"
                plan = planned[key] = {
                    "row": {
                        "name": self._unique_name(name, key),
                        "kind": kind,
                        "country": (info.country or None) if info else None,
                        "is_cdn": "cdn" in tags,
                        "is_shared_platform": False,
                        "source": AUTO,
                        "provenance": provenance,
                        "created_at": self.now,
                        "updated_at": self.now,
                    },
                    # an ordered set: organisations with thousands of sibling ASes are common
                    "assets": dict.fromkeys([("org", org_key)] if org_key else []),
                }
                members = (asn, *(info.siblings if info is not None else ()))
                plan["assets"].update(dict.fromkeys(("asn", str(member)) for member in members))
            else:
                plan["assets"].setdefault(("asn", str(asn)))
        self._assets(joining, provenance)
        self._create(list(planned.values()), provenance)

    def for_platform(self, platform: Platform) -> AssetHit:
        """The provider of a shared platform, created on first use."""
        hit = self.index.domain[AUTO].get(platform.domain)
        if hit is not None:
            return hit
        provenance = "hostwatch shared-platform list"
        self._create(
            [
                {
                    "row": {
                        "name": self._unique_name(platform.name, platform.domain),
                        "kind": "cdn" if platform.kind == "cdn" else "platform",
                        "country": None,
                        "is_cdn": platform.kind == "cdn",
                        "is_shared_platform": platform.kind != "cdn",
                        "source": AUTO,
                        "provenance": f"{provenance} ({platform.kind})",
                        "created_at": self.now,
                        "updated_at": self.now,
                    },
                    "assets": [("domain", platform.domain)],
                }
            ],
            provenance,
        )
        return self.index.domain[AUTO][platform.domain]

    def for_orgs(self, orgs: dict[str, str | None], provenance: str) -> None:
        """Providers for WHOIS organisations (network holders of space no AS explains)."""
        planned = []
        for org_id, org_name in sorted(orgs.items()):
            if org_id.upper() in self.index.org[AUTO] or org_id.upper() in self.index.org[MANUAL]:
                continue
            planned.append(
                {
                    "row": {
                        "name": self._unique_name(org_name or org_id, org_id),
                        "kind": "network",
                        "country": None,
                        "is_cdn": False,
                        "is_shared_platform": False,
                        "source": AUTO,
                        "provenance": provenance,
                        "created_at": self.now,
                        "updated_at": self.now,
                    },
                    "assets": [("org", org_id)],
                }
            )
        self._create(planned, provenance)

    def link_org(self, provider_id: int, org_id: str, provenance: str) -> None:
        """Tie an organisation handle (e.g. an aut-num's org) to an existing provider."""
        if org_id.upper() not in self.index.org[AUTO]:
            self._assets([(provider_id, "org", org_id)], provenance)

    def _assets(self, assets: list[tuple[int, str, str]], provenance: str) -> None:
        """Attach (provider id, kind, value) assets in one insert."""
        if not assets:
            return
        self._insert_assets.insert(
            self.session.connection(),
            [(provider_id, kind, value, provenance) for provider_id, kind, value in assets],
        )
        for provider_id, kind, value in assets:
            self.index.add(AssetHit(provider_id, kind, value, AUTO, provenance))

    def _create(self, planned: list[dict[str, Any]], provenance: str) -> None:
        if not planned:
            return
        rows = [plan["row"] for plan in planned]
        # names are unique: insert in bulk, then read the ids back by name (SQLite would return
        # ids row by row if asked for them in parameter order)
        self._insert_providers.execute(
            self.session.connection(), [tuple(row[c] for c in PROVIDER_COLUMNS) for row in rows]
        )
        by_name: dict[str, int] = {}
        names = [row["name"] for row in rows]
        for start in range(0, len(names), 900):
            part = names[start : start + 900]
            by_name.update(
                (name, provider_id)
                for provider_id, name in self.session.execute(
                    select(Provider.id, Provider.name).where(Provider.name.in_(part))
                )
            )
        ids = [by_name[name] for name in names]
        assets = []
        for provider_id, plan, row in zip(ids, planned, rows, strict=True):
            self.index.providers[provider_id] = ProviderFacts(
                provider_id,
                row["name"],
                row["kind"],
                row["is_cdn"],
                row["is_shared_platform"],
                AUTO,
            )
            for kind, value in dict.fromkeys(plan["assets"]):
                if kind == "asn" and (
                    int(value) in self.index.asn[AUTO] or int(value) in self.index.asn[MANUAL]
                ):
                    continue
                assets.append((provider_id, kind, value, row["provenance"]))
                self.index.add(AssetHit(provider_id, kind, value, AUTO, row["provenance"]))
        self._insert_assets.insert(self.session.connection(), assets)


# --- manual corrections (the ``hostwatch providers`` commands) ---------------------------------


def find_provider(session: Session, name_or_id: str) -> Provider | None:
    if name_or_id.isdigit():
        found = session.get(Provider, int(name_or_id))
        if found is not None:
            return found
    return session.scalar(select(Provider).where(Provider.name == name_or_id))


def add_provider(
    session: Session,
    name: str,
    *,
    now: datetime,
    provenance: str,
    kind: str = "hosting",
    country: str | None = None,
    is_cdn: bool = False,
    is_shared_platform: bool = False,
) -> Provider:
    """Create a manual provider, or take over an automatic one of that name as manual."""
    if not provenance.strip():
        raise ValueError("a manual provider needs a provenance (who says so, and based on what)")
    provider = session.scalar(select(Provider).where(Provider.name == name))
    if provider is None:
        provider = Provider(name=name, created_at=now)
        session.add(provider)
    provider.kind = kind
    provider.country = country.upper() if country else None
    provider.is_cdn = is_cdn
    provider.is_shared_platform = is_shared_platform
    provider.source = MANUAL
    provider.provenance = provenance
    provider.updated_at = now
    session.flush()
    return provider


def link_asset(
    session: Session,
    provider: Provider,
    kind: str,
    value: str,
    *,
    now: datetime,
    provenance: str,
    rules: AssetRules,
    verified: bool = False,
) -> ProviderAsset:
    """Give a provider an asset by hand (``providers link``); it then wins over automatic data.

    Written through :func:`hostwatch.attribution.assets.write_asset`: ``verified`` is an admin's
    confirmation of ownership and the only standing that opens cases to the provider's users.
    """
    return write_asset(
        session,
        provider,
        kind,
        value,
        standing="verified" if verified else MANUAL_STANDING,
        provenance=provenance,
        now=now,
        rules=rules,
    )


@dataclass(frozen=True)
class ProviderRow:
    id: int
    name: str
    kind: str
    country: str | None
    source: str
    is_cdn: bool
    is_shared_platform: bool
    assets: int
    attributions: int


def list_providers(
    session: Session, *, search: str | None = None, limit: int = 100
) -> list[ProviderRow]:
    """Providers with the number of assets and attributions, most attributed first."""
    assets = (
        select(ProviderAsset.provider_id, func.count().label("n"))
        .group_by(ProviderAsset.provider_id)
        .subquery()
    )
    attributed = (
        select(Attribution.provider_id, func.count().label("n"))
        .group_by(Attribution.provider_id)
        .subquery()
    )
    query = (
        select(
            Provider,
            func.coalesce(assets.c.n, 0),
            func.coalesce(attributed.c.n, 0),
        )
        .outerjoin(assets, assets.c.provider_id == Provider.id)
        .outerjoin(attributed, attributed.c.provider_id == Provider.id)
        .order_by(func.coalesce(attributed.c.n, 0).desc(), Provider.name)
        .limit(limit)
    )
    if search:
        query = query.where(Provider.name.ilike(f"%{search}%"))
    return [
        ProviderRow(
            p.id,
            p.name,
            p.kind,
            p.country,
            p.source,
            p.is_cdn,
            p.is_shared_platform,
            n_assets,
            n_attr,
        )
        for p, n_assets, n_attr in session.execute(query)
    ]


@dataclass(frozen=True)
class ProviderDetail:
    provider: Provider
    assets: list[ProviderAsset]
    contacts: list[Contact]


def provider_detail(session: Session, name_or_id: str) -> ProviderDetail | None:
    provider = find_provider(session, name_or_id)
    if provider is None:
        return None
    assets = list(
        session.scalars(
            select(ProviderAsset)
            .where(ProviderAsset.provider_id == provider.id)
            .order_by(ProviderAsset.standing.desc(), ProviderAsset.kind, ProviderAsset.value)
        )
    )
    contacts = list(session.scalars(select(Contact).where(Contact.provider_id == provider.id)))
    return ProviderDetail(provider, assets, contacts)
