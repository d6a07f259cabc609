"""Which attributions and cases fall in a provider's verified assets, as SQL.

This is the tenant rule: a provider's users see the cases attributed into the assets an admin
verified (:mod:`hostwatch.attribution.assets`), and nothing else. The web's disclosure policy
(:mod:`hostwatch.web.disclosure`) and the provider's daily digest both ask here. Matching, on
SQLite and PostgreSQL alike:

- ``asn``: the attribution's origin AS is that number;
- ``prefix``: the attributed IP address lies inside that CIDR (IPv4 or IPv6);
- ``org``: the AS organisation or the reseller equals it (case-insensitive), or any string in
  the WHOIS chain equals it exactly.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Sequence
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
)
from sqlalchemy.dialects.postgresql import INET
from sqlalchemy.orm import Session

from hostwatch.attribution.assets import verified_assets
from hostwatch.model import Attribution, Case

SQLITE_IP_IN = "hw_ip_in"


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


def asset_condition(dialect: str, assets: Sequence[tuple[str, str]]) -> ColumnElement[bool]:
    """Attributions that fall in any of ``assets``; false for none."""
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


def in_verified_space(session: Session, provider_id: int) -> ColumnElement[bool]:
    """Attributions in the provider's verified assets (false when it has none).

    On SQLite the address test is a Python function: it is registered on the session's own
    connection here, so callers outside the web app (the ``digests`` command) need no setup.
    """
    assets = verified_assets(session, provider_id)
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite" and any(kind == "prefix" for kind, _ in assets):
        _register(session.connection().connection.dbapi_connection, None)
    return asset_condition(dialect, assets)


def cases_in_verified_space(session: Session, provider_id: int) -> ColumnElement[bool]:
    """Cases whose attribution lies in the provider's verified assets.

    The case's ``provider_id`` alone never counts: automatic grouping and hand entries can be
    wrong, and a provider must not see its neighbour's cases by a mistaken merge.
    """
    return Case.attribution_id.in_(
        select(Attribution.id).where(in_verified_space(session, provider_id))
    )
