"""Routing tables: dated BGP snapshots and longest-prefix match over arrays, IPv4 and IPv6.

``from hostwatch.net.routing import RoutingTable`` is the entry point; see :mod:`.table`. The names
below are imported on first use, so that a submodule that needs no NumPy (:mod:`.mapped`, which
answers ``hostwatch lookup`` of a few addresses) can be imported without it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hostwatch.net.routing.issues import LoadIssue
    from hostwatch.net.routing.snapshots import (
        Selection,
        Snapshot,
        SnapshotCatalog,
        date_from_name,
    )
    from hostwatch.net.routing.table import NO_ASN, LookupResult, RoutingTable, SnapshotInfo

_WHERE = {
    "NO_ASN": "table",
    "LoadIssue": "issues",
    "LookupResult": "table",
    "RoutingTable": "table",
    "Selection": "snapshots",
    "Snapshot": "snapshots",
    "SnapshotCatalog": "snapshots",
    "SnapshotInfo": "table",
    "date_from_name": "snapshots",
}

__all__ = [
    "NO_ASN",
    "LoadIssue",
    "LookupResult",
    "RoutingTable",
    "Selection",
    "Snapshot",
    "SnapshotCatalog",
    "SnapshotInfo",
    "date_from_name",
]


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
