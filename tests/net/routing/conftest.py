"""Fixtures for the routing tests: the real 2026 table."""

from __future__ import annotations

from pathlib import Path

import pytest

from hostwatch.net.routing import RoutingTable

TABLE_2026 = "08_asn-names-classes-prefixes-2026/as-prefix_2026-06-19/asprefix_pfx2as.tsv.gz"


@pytest.fixture(scope="session")
def table_2026_path(shared_data: Path) -> Path:
    return shared_data / TABLE_2026


@pytest.fixture(scope="session")
def table_2026(table_2026_path: Path) -> RoutingTable:
    return RoutingTable.load(table_2026_path)
