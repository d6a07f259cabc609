"""Routing answers for the distinct addresses of a batch, from one or more tables.

A snapshot may come as separate IPv4 and IPv6 tables (pyasn ships them apart); each address
takes the answer of the first table that covers it, so lookups stay one call per table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from hostwatch.net.addresses import AddressArray

if TYPE_CHECKING:
    from hostwatch.net.routing import RoutingTable


@dataclass(frozen=True)
class RouteAnswers:
    """Per address: matched, prefix text, primary origin (0 = none) and all origins (MOAS)."""

    matched: np.ndarray
    prefix: list[str | None]
    origin_asn: np.ndarray
    origins: list[tuple[int, ...]]


def route(tables: Sequence[RoutingTable], addresses: AddressArray) -> RouteAnswers:
    n = len(addresses)
    matched = np.zeros(n, dtype=bool)
    prefix: list[str | None] = [None] * n
    origin_asn = np.zeros(n, dtype=np.int64)
    origins: list[tuple[int, ...]] = [()] * n
    for table in tables:
        todo = np.flatnonzero(~matched & (addresses.family != 0))
        if not todo.size:
            break
        subset = addresses if todo.size == n else _take(addresses, todo)
        result = table.lookup(subset)
        hit = np.flatnonzero(result.matched)
        if not hit.size:
            continue
        rows = todo[hit]
        matched[rows] = True
        origin_asn[rows] = np.maximum(result.origin_asn[hit], 0)
        if rows.size == n:
            prefix = result.prefix.tolist()
            origins = result.origins
            continue
        texts = result.prefix.tolist()
        all_origins = result.origins
        for i, j in zip(rows.tolist(), hit.tolist(), strict=True):
            prefix[i] = texts[j]
            origins[i] = all_origins[j]
    return RouteAnswers(matched, prefix, origin_asn, origins)


def _take(addresses: AddressArray, rows: np.ndarray) -> AddressArray:
    return AddressArray(addresses.family[rows], addresses.v4[rows], addresses.v6[rows], [])
