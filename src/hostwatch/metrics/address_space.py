"""Size denominators from the routing snapshot: the address space each provider announces.

A provider's size is the union of the prefixes its ASes originate (more-specifics inside a
covering prefix of the same AS are not counted twice), in IPv4 addresses and IPv6 /48s, from the
newest routing snapshot not after the period's end. The size model divides abuse by it.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from pathlib import Path

import numpy as np
import polars as pl
from sqlalchemy import select

from hostwatch.attribution.reference import ReferenceCatalog, load_reference_set
from hostwatch.metrics.tables import read_sizes
from hostwatch.model import Provider, ProviderAsset
from hostwatch.model.db import session_scope
from hostwatch.net.asn_numbers import parse_asn


def union_sizes(origin: np.ndarray, start: np.ndarray, size: np.ndarray) -> dict[int, float]:
    """Per origin AS, the size of the union of its intervals [start, start + size)."""
    if origin.size == 0:
        return {}
    frame = (
        pl.DataFrame({"origin": origin, "start": start.astype(np.float64)})
        .with_columns(end=pl.col("start") + pl.Series(size.astype(np.float64)))
        .sort("origin", "start")
        .with_columns(reach=pl.col("end").cum_max().shift(1).over("origin"))
        .with_columns(
            covered=(
                pl.col("end") - pl.max_horizontal("start", pl.col("reach").fill_null(-1.0))
            ).clip(lower_bound=0.0)
        )
        .group_by("origin")
        .agg(pl.col("covered").sum())
    )
    return dict(zip(frame["origin"].to_list(), frame["covered"].to_list(), strict=True))


def provider_sizes(database_url: str, at: datetime) -> dict[str, dict[str, float]]:
    """``{provider name: {"ipv4": addresses, "ipv6_48": /48s}}``; empty without a snapshot."""
    with session_scope(database_url) as session:
        choice = ReferenceCatalog.from_session(session).choose(at)
        rows = session.execute(
            select(Provider.name, ProviderAsset.value)
            .join(ProviderAsset, ProviderAsset.provider_id == Provider.id)
            .where(ProviderAsset.kind == "asn")
        ).all()
    routing = tuple(ref for ref in choice if ref.kind == "routing")
    if not routing or not rows:
        return {}
    v4: dict[int, float] = defaultdict(float)
    v6: dict[int, float] = defaultdict(float)
    for table in load_reference_set(routing).routing:
        routes = table.routes
        n4 = routes.v4_length.size
        origin = routes.origin.astype(np.int64)
        for asn, total in union_sizes(
            origin[:n4],
            routes.v4_network.astype(np.int64),
            2 ** (32 - routes.v4_length.astype(np.int64)),
        ).items():
            v4[asn] += total
        high = np.asarray(routes.v6_network)
        high = high[:, 0] if high.ndim == 2 else high["hi"] if high.dtype.names else high
        for asn, total in union_sizes(
            origin[n4:],
            high.astype(np.float64),
            2.0 ** (64 - routes.v6_length.astype(np.float64)),
        ).items():
            v6[asn] += total / 2.0**16
    sizes: dict[str, dict[str, float]] = defaultdict(lambda: {"ipv4": 0.0, "ipv6_48": 0.0})
    for name, value in rows:
        asn = parse_asn(value)
        if asn is None:
            continue
        sizes[name]["ipv4"] += v4.get(asn, 0.0)
        sizes[name]["ipv6_48"] += v6.get(asn, 0.0)
    return {name: size for name, size in sizes.items() if size["ipv4"] or size["ipv6_48"]}


def size_denominators(
    database_url: str, path: Path | None, at: datetime
) -> dict[str, dict[str, float]] | None:
    """Sizes from a file when one is given, else the announced space in the routing snapshot."""
    if path is not None:
        return read_sizes(path)
    return provider_sizes(database_url, at) or None
