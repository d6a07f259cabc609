"""A small batch answered without NumPy gives exactly what the NumPy path gives.

``hostwatch lookup`` of a few addresses reads a stored table through :mod:`.mapped` (memoryviews
and ``bisect``); everything else goes through :class:`RoutingTable`. The two must never differ:
compared here address by address, on random tables built to hit every branch (IPv4 /25-/32
blocks, IPv6 routes longer than /64, nested prefixes, the ends of the address space), on real
tables, and on the text that reaches the parser (junk included).
"""

from __future__ import annotations

import io
import ipaddress
import random
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_routing_exactness import draw_ipv4, draw_ipv6

from hostwatch.net.addresses import FAMILY_V4, ipv4_to_text, ipv6_to_text, parse_addresses
from hostwatch.net.routing import RoutingTable
from hostwatch.net.routing.lookup_csv import SMALL_BATCH, write_lookup_csv
from hostwatch.net.routing.mapped import MappedTable, open_mapped, parse_address

_V4 = st.tuples(st.integers(0, 2**32 - 1), st.integers(1, 32))
_V6 = st.tuples(
    st.integers(0, 2**128 - 1),
    st.one_of(st.integers(1, 64), st.integers(65, 128), st.sampled_from([48, 64, 65, 127, 128])),
)
_ORIGIN = st.one_of(st.integers(1, 65535), st.lists(st.integers(1, 2**32 - 1), min_size=2))


def _prefixes(v4: list[tuple[int, int]], v6: list[tuple[int, int]]) -> list[str]:
    out = [f"{ipaddress.IPv4Address(a)}/{n}" for a, n in v4]
    out += [f"{ipaddress.IPv6Address(a)}/{n}" for a, n in v6]
    return out


def _edges(network: ipaddress.IPv4Network | ipaddress.IPv6Network) -> list[int]:
    """The first and last address of a prefix and their neighbours outside it."""
    first, last = int(network.network_address), int(network.broadcast_address)
    top = 2**network.max_prefixlen - 1
    return [a for a in (first - 1, first, first + 1, last - 1, last, last + 1) if 0 <= a <= top]


def _both(table: RoutingTable, folder: Path) -> tuple[MappedTable, RoutingTable]:
    """The table stored, then opened both ways."""
    path = table.save(folder / "table.npz")
    mapped = open_mapped(path)
    assert mapped is not None
    return mapped, RoutingTable.load(path)


def _same_answers(mapped: MappedTable, stored: RoutingTable, texts: list[str]) -> None:
    """Route codes one by one, and the CSV both paths write, are identical."""
    addresses = parse_addresses(texts)
    codes = stored.route_codes(addresses).tolist()
    for i, text in enumerate(texts):
        parsed = parse_address(text)
        assert parsed is not None
        assert mapped.route_code(parsed) == codes[i], text
    small, batch = io.StringIO(), io.StringIO()
    assert write_lookup_csv(small, [mapped], texts) == write_lookup_csv(batch, [stored], texts)
    assert small.getvalue() == batch.getvalue()


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(_V4, max_size=40),
    st.lists(_V6, max_size=40),
    st.data(),
)
def test_random_tables_answer_the_same_both_ways(
    tmp_path: Path,
    v4: list[tuple[int, int]],
    v6: list[tuple[int, int]],
    data: st.DataObject,
) -> None:
    prefixes = _prefixes(v4, v6)
    origins = [data.draw(_ORIGIN) for _ in prefixes]
    table = RoutingTable.from_pairs(prefixes, origins)
    mapped, stored = _both(table, tmp_path)
    probes: list[int | ipaddress.IPv4Address | ipaddress.IPv6Address] = []
    for text in prefixes:
        network = ipaddress.ip_network(text, strict=False)
        kind = ipaddress.IPv4Address if network.version == 4 else ipaddress.IPv6Address
        probes += [kind(a) for a in _edges(network)]
    probes += [ipaddress.IPv4Address(a) for a in (0, 1, 2**32 - 1)]
    probes += [ipaddress.IPv6Address(a) for a in (0, 1, 2**64 - 1, 2**64, 2**128 - 1)]
    probes += data.draw(st.lists(st.ip_addresses(), max_size=30))
    _same_answers(mapped, stored, [str(a) for a in probes])


def test_a_table_of_every_kind_of_route_answers_the_same_both_ways(tmp_path: Path) -> None:
    """Routes chosen by hand: nested, host routes, /25-/31 blocks, > /64, MOAS, both ends."""
    prefixes = [
        "0.0.0.0/1",
        "10.0.0.0/8",
        "10.1.0.0/16",
        "10.1.2.0/24",
        "10.1.2.128/25",
        "10.1.2.192/26",
        "10.1.2.255/32",
        "192.0.2.0/31",
        "255.255.255.255/32",
        "2000::/3",
        "2001:db8::/32",
        "2001:db8:1::/48",
        "2001:db8:1::/64",
        "2001:db8:1::/65",
        "2001:db8:1::8000:0:0:0/65",
        "2001:db8:1::1/128",
        "2001:db8:1::ff00/120",
        "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128",
        "8000::/1",
    ]
    origins = [(i + 1) if i % 3 else (i + 1, 64500 + i) for i in range(len(prefixes))]
    mapped, stored = _both(RoutingTable.from_pairs(prefixes, origins), tmp_path)
    probes = []
    for text in prefixes:
        network = ipaddress.ip_network(text)
        kind = ipaddress.IPv4Address if network.version == 4 else ipaddress.IPv6Address
        probes += [str(kind(a)) for a in _edges(network)]
    _same_answers(mapped, stored, probes)
    small = io.StringIO()
    write_lookup_csv(
        small, [mapped], ["2001:db8:1::1", "2001:db8:1::2", "10.1.2.255", "10.1.2.254"]
    )
    assert small.getvalue().splitlines()[1:] == [
        "2001:db8:1::1,2001:db8:1::1/128,16",
        "2001:db8:1::2,2001:db8:1::/65,14",
        "10.1.2.255,10.1.2.255/32,7",
        "10.1.2.254,10.1.2.192/26,6",
    ]


def test_real_tables_answer_the_same_both_ways(shared_data: Path, tmp_path: Path) -> None:
    """The 2014 table (IPv4 blocks longer than /24) and the 2015 dual-stack table (IPv6)."""
    folder = shared_data / "02_pyasn-routeviews-ipasn"
    rng = np.random.default_rng(14)
    for name in ("ipasn_20140513.dat.gz", "ipasn6_20151101.dat.gz"):
        mapped, stored = _both(RoutingTable.load(folder / name), tmp_path / name)
        texts = ipv4_to_text(draw_ipv4(stored, 3000, rng))
        if stored.ipv6_count:
            texts += ipv6_to_text(draw_ipv6(stored, 3000, rng))
        random.Random(14).shuffle(texts)
        for start in range(0, len(texts), SMALL_BATCH):
            _same_answers(mapped, stored, texts[start : start + SMALL_BATCH])


_TEXT = st.text(alphabet="0123456789.:abcdefABCDEF%/x \t\u0661", max_size=45)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(_TEXT, st.ip_addresses().map(str)), min_size=1, max_size=20))
def test_the_parser_reads_what_the_array_parser_reads(texts: list[str]) -> None:
    batch = parse_addresses(texts)
    refused = {i for i, _ in batch.malformed}
    for i, text in enumerate(texts):
        parsed = parse_address(text)
        if i in refused:
            assert parsed is None, text
            continue
        assert parsed is not None, text
        family, value = parsed
        if batch.family[i] == FAMILY_V4:
            assert (family, value) == (4, int(batch.v4[i])), text
        else:
            hi, lo = (int(x) for x in batch.v6[i])
            assert (family, value) == (6, (hi << 64) | lo), text


def test_only_a_stored_table_is_opened_without_numpy(tmp_path: Path) -> None:
    text = tmp_path / "mine.tsv"
    text.write_text("192.0.2.0/24\t64500\n")
    assert open_mapped(text) is None
    stored = RoutingTable.load(text).save(tmp_path / "mine.npz")
    damaged = tmp_path / "damaged.npz"
    damaged.write_bytes(stored.read_bytes()[:-200])
    assert open_mapped(damaged) is None  # RoutingTable.load says what is wrong with it
    assert open_mapped(stored) is not None


def test_a_large_batch_against_a_mapped_table_goes_through_numpy_alike(tmp_path: Path) -> None:
    mapped, stored = _both(RoutingTable.from_pairs(["10.0.0.0/8", "10.0.0.0/25"], [1, 2]), tmp_path)
    texts = [f"10.0.{i >> 8 & 255}.{i & 255}" for i in range(SMALL_BATCH + 1)]
    large, batch, small = io.StringIO(), io.StringIO(), io.StringIO()
    write_lookup_csv(large, [mapped], texts)
    write_lookup_csv(batch, [stored], texts)
    write_lookup_csv(small, [mapped], texts[:SMALL_BATCH])
    assert large.getvalue() == batch.getvalue()
    assert large.getvalue().startswith(small.getvalue())
    assert large.getvalue().splitlines()[1:3] == [
        "10.0.0.0,10.0.0.0/25,2",
        "10.0.0.1,10.0.0.0/25,2",
    ]


@pytest.mark.slow
def test_the_2026_table_answers_the_same_both_ways(
    table_2026: RoutingTable, tmp_path: Path
) -> None:
    mapped, stored = _both(table_2026, tmp_path)
    rng = np.random.default_rng(2026)
    texts = ipv4_to_text(draw_ipv4(stored, 4000, rng)) + ipv6_to_text(draw_ipv6(stored, 4000, rng))
    _same_answers(mapped, stored, texts)
