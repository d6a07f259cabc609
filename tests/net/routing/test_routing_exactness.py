"""Same answers as pyasn on real tables; agreement with Team Cymru at least as good as pyasn's."""

from __future__ import annotations

import ast
import os
from pathlib import Path

import numpy as np
import pyasn
import pytest

from hostwatch.net.addresses import ipv4_to_text, ipv6_mask, ipv6_to_text
from hostwatch.net.routing import RoutingTable

SAMPLE = 200_000


def _pyasn_for(table: RoutingTable, folder: Path) -> pyasn.pyasn:
    """pyasn on the same routes: our table written as a pyasn .dat (primary origin per prefix)."""
    path = folder / "same.dat"
    texts = table.routes.prefix_texts(np.arange(len(table)))
    with path.open("w") as handle:
        handle.write("; IP-ASN32-DAT file\n")
        for prefix, asn in zip(texts, table.routes.origin.tolist(), strict=True):
            handle.write(f"{prefix}\t{asn}\n")
    return pyasn.pyasn(str(path))


def draw_ipv4(table: RoutingTable, n: int, rng: np.random.Generator) -> np.ndarray:
    """Addresses inside random announced prefixes, and a fifth uniform over the whole space."""
    routes = table.routes
    pick = rng.integers(0, routes.v4_length.size, n)
    host_bits = (32 - routes.v4_length[pick]).astype(np.uint64)
    host = rng.integers(0, 2**32, n, dtype=np.uint64) & ((np.uint64(1) << host_bits) - np.uint64(1))
    out = (routes.v4_network[pick].astype(np.uint64) | host).astype(np.uint32)
    out[: n // 5] = rng.integers(0, 2**32, n // 5, dtype=np.uint64).astype(np.uint32)
    return out


def draw_ipv6(table: RoutingTable, n: int, rng: np.random.Generator) -> np.ndarray:
    """Addresses inside random announced prefixes, and a fifth uniform over 2000::/3."""
    routes = table.routes
    pick = rng.integers(0, routes.v6_length.size, n)
    mask = ipv6_mask(routes.v6_length[pick])
    noise = rng.integers(0, 2**64, (n, 2), dtype=np.uint64)
    out = routes.v6_network[pick] | (noise & ~mask)
    out[: n // 5, 0] = (noise[: n // 5, 0] >> np.uint64(3)) | np.uint64(0x2000 << 48)
    return out


def _compare(table: RoutingTable, reference: pyasn.pyasn, texts: list[str]) -> int:
    result = table.lookup(texts)
    prefixes = result.prefix
    asns = result.origin_asn.tolist()
    differ = 0
    for i, text in enumerate(texts):
        asn, prefix = reference.lookup(text)
        if (asn if asn is not None else -1) != asns[i] or prefix != prefixes[i]:
            differ += 1
    return differ


@pytest.mark.slow
def test_same_answers_as_pyasn_on_the_2026_table(table_2026: RoutingTable, tmp_path: Path) -> None:
    reference = _pyasn_for(table_2026, tmp_path)
    rng = np.random.default_rng(int(os.environ.get("HOSTWATCH_TEST_SEED", "2026")))
    v4 = ipv4_to_text(draw_ipv4(table_2026, SAMPLE, rng))
    v6 = ipv6_to_text(draw_ipv6(table_2026, SAMPLE, rng))
    assert _compare(table_2026, reference, v4) == 0
    assert _compare(table_2026, reference, v6) == 0
    assert table_2026.lookup(v4).matched.mean() > 0.8


def test_same_answers_as_pyasn_on_the_2015_dual_stack_table(shared_data: Path) -> None:
    path = shared_data / "02_pyasn-routeviews-ipasn" / "ipasn6_20151101.dat.gz"
    table = RoutingTable.load(path)
    reference = pyasn.pyasn(str(path))
    rng = np.random.default_rng(7)
    texts = ipv4_to_text(draw_ipv4(table, 20_000, rng)) + ipv6_to_text(
        draw_ipv6(table, 20_000, rng)
    )
    assert _compare(table, reference, texts) == 0


def test_cymru_agreement_at_least_as_good_as_pyasn(shared_data: Path) -> None:
    folder = shared_data / "02_pyasn-routeviews-ipasn"
    text = (folder / "cymru.map").read_text()
    truth: dict[str, int | None] = ast.literal_eval(text[text.index("{") :])
    table = RoutingTable.load(folder / "ipasn_20140513.dat.gz")
    reference = pyasn.pyasn(str(folder / "ipasn_20140513.dat.gz"))
    ips = list(truth)
    ours = table.lookup(ips).origin_asn.tolist()
    ours_agree = sum((a if a != -1 else None) == truth[ip] for ip, a in zip(ips, ours, strict=True))
    pyasn_agree = sum(reference.lookup(ip)[0] == truth[ip] for ip in ips)
    assert ours_agree >= pyasn_agree
    assert ours_agree > 0.95 * len(ips)
