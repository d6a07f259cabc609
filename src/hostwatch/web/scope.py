"""The one place that turns a principal into a query filter: every endpoint narrows through here.

The tenant rule, for a **provider** principal P:

1. P sees a case when the case's attribution falls in one of P's *verified* assets
   (``ProviderAsset.verified``, linked by an admin with ``hostwatch access grant``):
   - ``asn``: the attribution's origin AS is that number;
   - ``prefix``: the attributed IP address lies inside that CIDR (IPv4 or IPv6);
   - ``org``: the AS organisation or the reseller equals it (case-insensitive), or any string in
     the WHOIS chain equals it exactly.
   This is how a network holder sees abuse in its whole space, including its resellers' cases.
2. P also sees the cases whose ``provider_id`` is P's own when P was entered by hand
   (``Provider.source == 'manual'``, or P has an asset with ``source == 'manual'``): an admin who
   types ``hostwatch contacts add --name P --network CIDR`` has vouched for that mapping himself,
   so the automatic data cannot have put another party's cases there.
Nothing else: automatic provider ids alone never grant access, because automatic grouping can be
wrong and a provider must not see its neighbour's data by a mistaken merge.

**researcher** sees every case and attribution but pseudonymised: no URL, host or IP leaves the
service (see :func:`sees_identifiers`). **admin**, **analyst** and **regulator** see everything.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Engine,
    String,
    cast,
    event,
    false,
    func,
    or_,
    select,
    true,
)
from sqlalchemy.dialects.postgresql import INET
from sqlalchemy.orm import Session

from hostwatch.model import Attribution, Case, Provider, ProviderAsset
from hostwatch.web.auth import Principal

FULL_ROLES = frozenset({"admin", "analyst", "regulator"})
PSEUDONYMOUS_ROLES = frozenset({"researcher"})
SQLITE_IP_IN = "hw_ip_in"


def sees_identifiers(principal: Principal) -> bool:
    """Whether URLs, hosts and IPs may be shown to this principal."""
    return principal.role not in PSEUDONYMOUS_ROLES


def _ip_in(ip: str | None, network: str | None) -> int:
    if not ip or not network:
        return 0
    try:
        return int(ipaddress.ip_address(ip) in ipaddress.ip_network(network, strict=False))
    except ValueError:
        return 0


def _register(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.create_function(SQLITE_IP_IN, 2, _ip_in, deterministic=True)


def install_sqlite_functions(engine: Engine) -> None:
    """Give SQLite the address-in-network test that PostgreSQL has natively (``<<=``)."""
    if engine.dialect.name != "sqlite" or event.contains(engine, "connect", _register):
        return
    event.listen(engine, "connect", _register)
    engine.dispose()


def _in_network(dialect: str, network: str) -> ColumnElement[bool]:
    if dialect == "postgresql":
        return cast(Attribution.ip, INET).op("<<=")(cast(network, INET))
    return func.hw_ip_in(Attribution.ip, network) == 1


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _asset_condition(dialect: str, assets: Sequence[tuple[str, str]]) -> ColumnElement[bool]:
    conditions: list[ColumnElement[bool]] = []
    asns = [int(v) for k, v in assets if k == "asn" and v.isdigit()]
    if asns:
        conditions.append(Attribution.origin_asn.in_(asns))
    for kind, value in assets:
        if kind == "prefix":
            try:
                network = str(ipaddress.ip_network(value, strict=False))
            except ValueError:
                continue
            conditions.append(Attribution.ip.is_not(None) & _in_network(dialect, network))
        elif kind == "org" and value.strip():
            lowered = value.strip().lower()
            # SQLAlchemy writes JSON with ASCII escapes on SQLite; PostgreSQL prints jsonb as UTF-8.
            literal = json.dumps(value.strip(), ensure_ascii=dialect == "sqlite")
            token = _escape_like(literal)
            conditions.append(
                or_(
                    func.lower(Attribution.as_org) == lowered,
                    func.lower(Attribution.reseller) == lowered,
                    cast(Attribution.whois_chain, String).like(f"%{token}%", escape="\\"),
                )
            )
    return or_(*conditions) if conditions else false()


@dataclass(frozen=True)
class Tenant:
    """What the tenant rule needs to know about one provider, read in one query."""

    assets: tuple[tuple[str, str], ...]
    manual: bool


def tenant(session: Session, provider_id: int) -> Tenant:
    """The provider's verified assets and whether an admin entered it (or an asset) by hand."""
    rows = session.execute(
        select(
            Provider.source,
            ProviderAsset.kind,
            ProviderAsset.value,
            ProviderAsset.verified,
            ProviderAsset.source,
        )
        .outerjoin(ProviderAsset, ProviderAsset.provider_id == Provider.id)
        .where(Provider.id == provider_id)
    ).all()
    manual = any(p_source == "manual" or a_source == "manual" for p_source, *_, a_source in rows)
    assets = tuple((k, v) for _, k, v, verified, _ in rows if k is not None and verified)
    return Tenant(assets, manual)


def attribution_filter(session: Session, principal: Principal) -> ColumnElement[bool]:
    """Which attributions the principal may read."""
    if principal.role != "provider":
        return true()
    if principal.provider_id is None:
        return false()
    who = tenant(session, principal.provider_id)
    condition = _asset_condition(session.get_bind().dialect.name, who.assets)
    if who.manual:
        condition = or_(condition, Attribution.provider_id == principal.provider_id)
    return condition


def case_filter(session: Session, principal: Principal) -> ColumnElement[bool]:
    """Which cases the principal may read (rules 1 and 2 of the module docstring)."""
    if principal.role != "provider":
        return true()
    if principal.provider_id is None:
        return false()
    who = tenant(session, principal.provider_id)
    assets = _asset_condition(session.get_bind().dialect.name, who.assets)
    by_assets = Case.attribution_id.in_(select(Attribution.id).where(assets))
    if who.manual:
        return or_(by_assets, Case.provider_id == principal.provider_id)
    return by_assets


def provider_filter(principal: Principal) -> ColumnElement[bool]:
    """Which provider records the principal may read: a provider only its own."""
    if principal.role != "provider":
        return true()
    if principal.provider_id is None:
        return false()
    return Provider.id == principal.provider_id


def visible_case(session: Session, principal: Principal, case_id: int) -> Case | None:
    """The case if it exists and the principal may see it; None either way otherwise."""
    return session.scalar(select(Case).where(Case.id == case_id, case_filter(session, principal)))
