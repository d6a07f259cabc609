"""Longest-prefix match: the most specific route wins, in both families, for every input form."""

from __future__ import annotations

import ipaddress
import random

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from hostwatch.net.addresses import BULK_MIN
from hostwatch.net.routing import NO_ASN, RoutingTable

PAIRS = [
    ("10.0.0.0/8", 100),
    ("10.1.0.0/16", 101),
    ("10.1.2.0/24", 102),
    ("10.1.2.128/25", 103),
    ("10.1.2.200/32", 104),
    ("192.0.2.0/24", [200, 201]),
    ("2001:db8::/32", 600),
    ("2001:db8:1::/48", 601),
    ("2001:db8:1:2::/64", 602),
    ("2001:db8:1:2::/96", 603),
    ("2001:db8:1:2::5/128", 604),
]


def _table() -> RoutingTable:
    return RoutingTable.from_pairs([p for p, _ in PAIRS], [a for _, a in PAIRS])


def test_most_specific_route_answers_in_input_order() -> None:
    result = _table().lookup(
        [
            "10.200.0.1",
            "10.1.9.9",
            "10.1.2.3",
            "10.1.2.130",
            "10.1.2.200",
            "11.0.0.1",
            "2001:db8:ffff::1",
            "2001:db8:1:ffff::1",
            "2001:db8:1:2:ffff::1",
            "2001:db8:1:2::9",
            "2001:db8:1:2::5",
            "2001:db9::1",
        ]
    )
    assert result.origin_asn.tolist() == [
        *(100, 101, 102, 103, 104, NO_ASN),
        *(600, 601, 602, 603, 604, NO_ASN),
    ]
    assert result.prefix.tolist() == [
        "10.0.0.0/8",
        "10.1.0.0/16",
        "10.1.2.0/24",
        "10.1.2.128/25",
        "10.1.2.200/32",
        None,
        "2001:db8::/32",
        "2001:db8:1::/48",
        "2001:db8:1:2::/64",
        "2001:db8:1:2::/96",
        "2001:db8:1:2::5/128",
        None,
    ]
    assert result.matched.tolist() == [True] * 5 + [False] + [True] * 5 + [False]


def test_moas_keeps_every_origin_with_the_first_as_primary() -> None:
    result = _table().lookup(["192.0.2.9", "10.0.0.1", "203.0.113.1"])
    assert result.origin_asn.tolist() == [200, 100, NO_ASN]
    assert result.origins == [(200, 201), (100,), ()]


def test_malformed_inputs_are_unmatched_and_reported() -> None:
    result = _table().lookup(["10.0.0.1", "10.0.0.256", "", "2001:db8::zz", "10.1.2.3"])
    assert result.matched.tolist() == [True, False, False, False, True]
    assert result.origin_asn.tolist() == [100, NO_ASN, NO_ASN, NO_ASN, 102]
    assert result.malformed == [(1, "10.0.0.256"), (2, ""), (3, "2001:db8::zz")]


def test_arrays_answer_like_strings() -> None:
    table = _table()
    v4 = ["10.1.2.200", "10.1.2.129", "8.8.8.8"]
    as_ints = np.array([int(ipaddress.ip_address(a)) for a in v4], dtype=np.uint32)
    assert table.lookup(as_ints).origin_asn.tolist() == table.lookup(v4).origin_asn.tolist()
    v6 = ["2001:db8:1:2::5", "2001:db8::1"]
    pairs = np.array(
        [
            [int(ipaddress.ip_address(a)) >> 64, int(ipaddress.ip_address(a)) & (2**64 - 1)]
            for a in v6
        ],
        dtype=np.uint64,
    )
    assert table.lookup(pairs).origin_asn.tolist() == [604, 600]


def test_empty_batch_and_empty_table() -> None:
    assert len(_table().lookup([])) == 0
    empty = RoutingTable.from_pairs([], [])
    result = empty.lookup(["1.2.3.4", "::1"])
    assert result.origin_asn.tolist() == [NO_ASN, NO_ASN]


def _brute_force(routes: list[tuple[ipaddress._BaseNetwork, int]], address: str) -> int:
    ip = ipaddress.ip_address(address)
    best = None
    for net, asn in routes:
        covers = ip.version == net.version and ip in net
        if covers and (best is None or net.prefixlen > best[0].prefixlen):
            best = (net, asn)
    return best[1] if best else NO_ASN


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_random_nested_tables_match_brute_force(seed: int) -> None:
    rng = random.Random(seed)
    routes: dict[ipaddress._BaseNetwork, int] = {}
    anchors = [rng.getrandbits(32) for _ in range(4)]
    anchors6 = [rng.getrandbits(128) for _ in range(4)]
    for _ in range(40):
        if rng.random() < 0.5:
            net = ipaddress.ip_network((rng.choice(anchors), rng.randint(1, 32)), strict=False)
        else:
            net = ipaddress.ip_network((rng.choice(anchors6), rng.randint(1, 128)), strict=False)
        routes.setdefault(net, rng.randint(1, 400000))
    pairs = list(routes.items())
    table = RoutingTable.from_pairs([str(n) for n, _ in pairs], [a for _, a in pairs])
    probes = []
    for _ in range(60):
        if rng.random() < 0.5:
            probes.append(
                str(
                    ipaddress.IPv4Address(rng.choice(anchors) ^ rng.getrandbits(rng.randint(0, 32)))
                )
            )
        else:
            probes.append(
                str(
                    ipaddress.IPv6Address(
                        rng.choice(anchors6) ^ rng.getrandbits(rng.randint(0, 128))
                    )
                )
            )
    got = table.lookup(probes).origin_asn.tolist()
    assert got == [_brute_force(pairs, p) for p in probes]


def test_dataframe_columns_are_accepted() -> None:
    import polars as pl

    table = _table()
    strings = pl.Series(["10.1.2.3", "2001:db8::1", "x"])
    assert table.lookup(strings).origin_asn.tolist() == [102, 600, NO_ASN]
    ints = pl.Series([0x0A010203], dtype=pl.UInt32)
    assert table.lookup(ints).origin_asn.tolist() == [102]


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_bulk_ipv6_lookup_matches_brute_force(seed: int) -> None:
    """Batches of BULK_MIN or more go down the compiled search tree, deep routes included."""
    rng = random.Random(seed)
    anchors = [rng.getrandbits(128) for _ in range(3)] + [0, 2**128 - 1]
    routes: dict[ipaddress._BaseNetwork, int] = {}
    for _ in range(rng.randint(1, 300)):
        net = ipaddress.ip_network((rng.choice(anchors), rng.randint(1, 128)), strict=False)
        routes.setdefault(net, rng.randint(1, 400000))
    pairs = list(routes.items())
    table = RoutingTable.from_pairs([str(n) for n, _ in pairs], [a for _, a in pairs])
    probes = [rng.choice(anchors) ^ rng.getrandbits(rng.randint(0, 128)) for _ in range(200)]
    probes += [0, 2**128 - 1]
    expected = [_brute_force(pairs, str(ipaddress.IPv6Address(p))) for p in probes]
    arr = np.array([[p >> 64, p & (2**64 - 1)] for p in probes], dtype=np.uint64)
    repeats = -(-BULK_MIN // len(probes))
    got = table.lookup(np.tile(arr, (repeats, 1))).origin_asn.reshape(repeats, -1)
    assert (got == np.array(expected)).all()
