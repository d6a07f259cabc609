"""Routing tables: dated BGP snapshots and longest-prefix match over arrays, IPv4 and IPv6.

``from hostwatch.net.routing import RoutingTable`` is the entry point; see :mod:`.table`.
"""

from hostwatch.net.routing.issues import LoadIssue
from hostwatch.net.routing.snapshots import Selection, Snapshot, SnapshotCatalog, date_from_name
from hostwatch.net.routing.table import NO_ASN, LookupResult, RoutingTable, SnapshotInfo

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
