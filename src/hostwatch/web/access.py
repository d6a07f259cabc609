"""Verified ownership: an admin links a provider to the ASes, prefixes and WHOIS organisations
it holds. Only these verified assets open cases to the provider's users (see scope.py)."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from hostwatch.model import Provider, ProviderAsset
from hostwatch.model.audit import record


def _normalise(kind: str, value: str) -> str:
    value = value.strip()
    if kind == "asn":
        digits = value.upper().removeprefix("AS")
        if not digits.isdigit() or int(digits) >= 2**32:
            raise ValueError(f"{value!r} is not an AS number")
        return str(int(digits))
    if kind == "prefix":
        try:
            return str(ipaddress.ip_network(value, strict=False))
        except ValueError as exc:
            raise ValueError(f"{value!r} is not a CIDR prefix") from exc
    if not value or len(value) > 300:
        raise ValueError("organisation name must have 1 to 300 characters")
    return value


def grant(
    session: Session,
    provider_name: str,
    *,
    asns: Sequence[str] = (),
    prefixes: Sequence[str] = (),
    orgs: Sequence[str] = (),
    now: datetime,
    actor: str = "cli",
) -> list[ProviderAsset]:
    """Mark the given assets of ``provider_name`` verified (adding those it lacks).

    A missing provider is created as an admin-entered (``manual``) one. Assets added here get
    ``source='admin'``; existing assets keep their source and only gain ``verified``.
    """
    wanted = [("asn", _normalise("asn", v)) for v in asns]
    wanted += [("prefix", _normalise("prefix", v)) for v in prefixes]
    wanted += [("org", _normalise("org", v)) for v in orgs]
    if not wanted:
        raise ValueError("name at least one --asn, --prefix or --org")
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
    for kind, value in wanted:
        asset = session.scalar(
            select(ProviderAsset).where(
                ProviderAsset.provider_id == provider.id,
                ProviderAsset.kind == kind,
                ProviderAsset.value == value,
            )
        )
        if asset is None:
            asset = ProviderAsset(
                provider_id=provider.id,
                kind=kind,
                value=value,
                source="admin",
                provenance=f"verified by {actor}",
                created_at=now,
            )
            session.add(asset)
        asset.verified = True
        out.append(asset)
    session.flush()
    record(
        session,
        at=now,
        actor=actor,
        action="access.grant",
        object_type="provider",
        object_id=provider.id,
        data={"assets": [[k, v] for k, v in wanted]},
    )
    return out


def revoke(
    session: Session,
    provider_name: str,
    kind: str,
    value: str,
    *,
    now: datetime,
    actor: str = "cli",
) -> int:
    """Withdraw verification of one asset; returns how many were withdrawn (0 or 1)."""
    value = _normalise(kind, value)
    provider_id = session.scalar(select(Provider.id).where(Provider.name == provider_name))
    if provider_id is None:
        raise ValueError(f"no provider named {provider_name!r}")
    asset = session.scalar(
        select(ProviderAsset).where(
            ProviderAsset.provider_id == provider_id,
            ProviderAsset.kind == kind,
            ProviderAsset.value == value,
        )
    )
    if asset is None or not asset.verified:
        return 0
    asset.verified = False
    record(
        session,
        at=now,
        actor=actor,
        action="access.revoke",
        object_type="provider",
        object_id=provider_id,
        data={"asset": [kind, value]},
    )
    return 1


def assets_of(session: Session, provider_name: str) -> list[ProviderAsset]:
    provider_id = session.scalar(select(Provider.id).where(Provider.name == provider_name))
    if provider_id is None:
        raise ValueError(f"no provider named {provider_name!r}")
    return list(
        session.scalars(
            select(ProviderAsset)
            .where(ProviderAsset.provider_id == provider_id)
            .order_by(ProviderAsset.kind, ProviderAsset.value)
        )
    )
