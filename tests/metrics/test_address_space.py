"""Provider size = the union of the address space its ASes announce in the routing snapshot."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from hostwatch.attribution.reference import register_snapshot
from hostwatch.metrics.address_space import provider_sizes, union_sizes
from hostwatch.model import Provider, ProviderAsset
from hostwatch.model.db import session_scope
from hostwatch.settings import Settings

AT = datetime(2025, 1, 1, tzinfo=UTC)


def test_more_specifics_are_not_counted_twice() -> None:
    origin = np.array([1, 1, 1, 2, 2])
    start = np.array([0, 0, 300, 1000, 5000])
    size = np.array([256, 128, 100, 16, 16])
    assert union_sizes(origin, start, size) == {1: 356.0, 2: 32.0}


def test_sizes_from_the_catalogued_routing_snapshot(settings: Settings, tmp_path: Path) -> None:
    table = tmp_path / "sizes_pfx2as_20241231.tsv"
    table.write_text(
        "prefix\torigin_asn\n"
        "198.51.0.0/16\t64500\n198.51.100.0/24\t64500\n"  # a more-specific of the same AS
        "203.0.0.0/20\t64501\n"
        "2001:db8::/32\t64500\n"
    )
    with session_scope(settings.database_url) as session:
        register_snapshot(session, "routing", table, loaded_at=AT, valid_at=AT)
        big = Provider(name="Big Hosting", created_at=AT, updated_at=AT)
        small = Provider(name="Small Hosting", created_at=AT, updated_at=AT)
        session.add_all([big, small])
        session.flush()
        session.add_all(
            [
                ProviderAsset(provider_id=big.id, kind="asn", value="64500", created_at=AT),
                ProviderAsset(provider_id=small.id, kind="asn", value="AS64501", created_at=AT),
            ]
        )
    sizes = provider_sizes(settings.database_url, AT)
    assert sizes["Big Hosting"] == {"ipv4": 65536.0, "ipv6_48": 65536.0}
    assert sizes["Small Hosting"] == {"ipv4": 4096.0, "ipv6_48": 0.0}
    assert provider_sizes(settings.database_url, datetime(2020, 1, 1, tzinfo=UTC)) == sizes
