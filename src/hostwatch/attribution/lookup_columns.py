"""The optional ``as_name,provider,country`` columns of ``hostwatch lookup``.

Read-only: names come from the AS lists, the provider from existing provider assets (manual
first; else the AS organisation's name, as attribution would name a new provider), the country from
the RIR statistics (else the AS's country), all from the snapshots catalogued for the given time.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

import numpy as np

from hostwatch.attribution.providers import AUTO, MANUAL, ProviderIndex
from hostwatch.attribution.reference import ReferenceCatalog, ReferenceSet, load_reference_set
from hostwatch.model.db import session_scope
from hostwatch.net.addresses import FAMILY_V4, FAMILY_V6, AddressArray, as_address_array
from hostwatch.settings import Settings

if TYPE_CHECKING:
    from hostwatch.net.routing.lookup_csv import MergedAnswers
from hostwatch.net.routing import LookupResult

EXTRA_HEADER = ("as_name", "provider", "country")


def extra_columns(
    addresses: AddressArray,
    origin_asns: np.ndarray,
    reference: ReferenceSet,
    providers: ProviderIndex | None = None,
) -> list[tuple[str | None, str | None, str | None]]:
    """Per address: AS name, provider name and country (None where unknown)."""
    registry = reference.asnames
    per_asn: dict[int, tuple[str | None, str | None, str | None]] = {}
    for asn in {int(a) for a in np.unique(origin_asns) if a > 0}:
        info = registry.get(asn) if registry is not None else None
        name = info.name if info is not None else None
        provider = None
        if providers is not None:
            hit = providers.asn[MANUAL].get(asn) or providers.asn[AUTO].get(asn)
            if hit is not None:
                provider = providers.providers[hit.provider_id].name
        if provider is None and info is not None:
            provider = info.org_name or info.name
        per_asn[asn] = (name, provider, info.country if info is not None else None)
    countries = _countries(addresses, reference)
    out = []
    for asn, country in zip(origin_asns.tolist(), countries, strict=True):
        name, provider, as_country = per_asn.get(int(asn), (None, None, None))
        out.append((name, provider, country or as_country))
    return out


def _countries(addresses: AddressArray, reference: ReferenceSet) -> list[str | None]:
    out: list[str | None] = [None] * len(addresses)
    stats = reference.delegated
    if stats is None:
        return out
    for family, lookup, values in (
        (FAMILY_V4, stats.lookup_v4, addresses.v4),
        (FAMILY_V6, stats.lookup_v6, addresses.v6[:, 0]),
    ):
        rows = np.flatnonzero(addresses.family == family)
        if rows.size:
            matches = lookup(values[rows])
            for i, found, cc in zip(
                rows.tolist(), matches.found.tolist(), matches.country.tolist(), strict=True
            ):
                if found and cc:
                    out[i] = str(cc)
    return out


def lookup_columns(
    settings: Settings, result: LookupResult, *, at: datetime | None = None
) -> list[tuple[str | None, str | None, str | None]]:
    """The extra columns for a routing lookup, with the snapshots catalogued for ``at`` (now)."""
    at = at or settings.clock().now()
    with session_scope(settings.database_url) as session:
        choice = ReferenceCatalog.from_session(session).choose(at)
        providers = ProviderIndex.load(session)
    reference = load_reference_set(tuple(ref for ref in choice if ref.kind != "routing"))
    return extra_columns(
        as_address_array(result.addresses), result.origin_asn, reference, providers
    )


def column_texts(values: Sequence[tuple[str | None, ...]]) -> list[list[str]]:
    """The columns as CSV cells ('' for unknown)."""
    return [[cell or "" for cell in row] for row in values]


class ReferenceColumns:
    """``as_name, provider, country`` for ``hostwatch lookup --details`` (a routing ColumnSource).

    Names, organisations and countries come from the snapshots catalogued for ``at`` (default
    now), providers from the database, so the CSV says what an attribution would say.
    """

    names = EXTRA_HEADER

    def __init__(self, settings: Settings, *, at: datetime | None = None) -> None:
        at = at or settings.clock().now()
        with session_scope(settings.database_url) as session:
            choice = ReferenceCatalog.from_session(session).choose(at)
            self.providers = ProviderIndex.load(session)
        self.reference = load_reference_set(tuple(ref for ref in choice if ref.kind != "routing"))

    def __call__(self, answers: MergedAnswers) -> list[list[str | None]]:
        rows = extra_columns(
            as_address_array(answers.texts), answers.origin_asn, self.reference, self.providers
        )
        return [[row[k] for row in rows] for k in range(len(self.names))]
