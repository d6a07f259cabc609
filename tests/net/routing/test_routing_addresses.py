"""Bulk address parsing: exact on every spelling, never raising on junk."""

from __future__ import annotations

import ipaddress
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hostwatch.net import addresses, kernels
from hostwatch.net.addresses import (
    IPV6_DTYPE,
    as_address_array,
    ipv6_to_text,
    parse_addresses,
)

GOOD = [
    "1.2.3.4",
    "0.0.0.0",
    "255.255.255.255",
    "::",
    "::1",
    "1::",
    "2001:db8::1",
    "2001:DB8:0:0:0:0:0:1",
    "1:2:3:4:5:6:7::",
    "::ffff:192.0.2.1",
]
BAD = [
    "",
    "256.1.1.1",
    "01.2.3.4",
    "1.2.3",
    "1.2.3.4.5",
    " 1.2.3.4",
    "1..3.4",
    "a.b.c.d",
    "é.1.1.1",
    "1.2.3.4\n",
    ":::",
    "1::2::3",
    "12345::",
    "fe80::1%eth0",
    "1:2:3:4:5:6:7:8:9",
    "=HYPERLINK(1)",
]


def _expected(text: str) -> int | None:
    return int(ipaddress.ip_address(text))


def test_good_and_bad_mixed_keep_input_order() -> None:
    texts = [*GOOD, *BAD]
    parsed = parse_addresses(texts)
    for i, text in enumerate(GOOD):
        value = _expected(text)
        if ":" in text:
            assert parsed.family[i] == 6
            assert (int(parsed.v6[i, 0]) << 64 | int(parsed.v6[i, 1])) == value
        else:
            assert parsed.family[i] == 4
            assert int(parsed.v4[i]) == value
    assert (parsed.family[len(GOOD) :] == 0).all()
    assert [i for i, _ in parsed.malformed] == list(range(len(GOOD), len(texts)))
    assert [t for _, t in parsed.malformed] == BAD


def test_a_list_starting_with_ipv6_still_reads_ipv4() -> None:
    parsed = parse_addresses(["2001:db8::1", "192.0.2.1", "nonsense"])
    assert parsed.family.tolist() == [6, 4, 0]
    assert parsed.to_text() == ["2001:db8::1", "192.0.2.1", None]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.ip_addresses(v=4), st.ip_addresses(v=6)), max_size=60))
def test_round_trip_matches_ipaddress(addresses: list) -> None:
    texts = [str(a) for a in addresses]
    parsed = parse_addresses(texts)
    assert parsed.malformed == []
    back = [ipaddress.ip_address(t) for t in parsed.to_text()]
    assert back == [ipaddress.ip_address(t) for t in texts]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(alphabet="0123456789.:abcdef /x", max_size=20), max_size=30))
def test_junk_is_flagged_never_raised(texts: list[str]) -> None:
    parsed = parse_addresses(texts)
    for i, text in enumerate(texts):
        try:
            ipaddress.ip_address(text)
            valid = "%" not in text
        except ValueError:
            valid = False
        assert (parsed.family[i] != 0) == valid, text


def test_parsed_arrays_are_accepted_as_they_are() -> None:
    v4 = np.array([0x01020304, 0xC0000201], dtype=np.uint32)
    assert as_address_array(v4).to_text() == ["1.2.3.4", "192.0.2.1"]
    pairs = np.array([[0x20010DB800000000, 1]], dtype=np.uint64)
    assert as_address_array(pairs).to_text() == ["2001:db8::1"]
    structured = np.zeros(1, IPV6_DTYPE)
    structured["hi"], structured["lo"] = 0x20010DB800000000, 2
    assert as_address_array(structured).to_text() == ["2001:db8::2"]
    strings = np.array(["10.0.0.1", "::1"])
    assert as_address_array(strings).family.tolist() == [4, 6]


def test_out_of_range_integers_are_refused() -> None:
    with pytest.raises(ValueError, match="outside"):
        as_address_array(np.array([-1, 5], dtype=np.int64))
    with pytest.raises(TypeError):
        as_address_array("1.2.3.4")


@st.composite
def _spelled_ipv6(draw: st.DrawFn) -> str:
    """Any valid spelling: full or '::'-compressed, any case, optional leading zeros."""
    groups = draw(st.lists(st.integers(0, 0xFFFF), min_size=8, max_size=8))
    texts = []
    for g in groups:
        width = draw(st.integers(len(f"{g:x}"), 4))
        text = f"{g:0{width}x}"
        texts.append(text.upper() if draw(st.booleans()) else text)
    if draw(st.booleans()):
        start = draw(st.integers(0, 7))
        stop = draw(st.integers(start + 1, 8))
        return ":".join(texts[:start]) + "::" + ":".join(texts[stop:])
    return ":".join(texts)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.one_of(_spelled_ipv6(), st.sampled_from(BAD + GOOD)), max_size=40))
def test_every_ipv6_spelling_reads_like_inet_pton(texts: list[str]) -> None:
    parsed = parse_addresses(texts)
    for i, text in enumerate(texts):
        try:
            expected = ipaddress.ip_address(text)
            valid = "%" not in text
        except ValueError:
            valid = False
        if not valid:
            assert parsed.family[i] == 0, text
        elif expected.version == 6:
            got = int(parsed.v6[i, 0]) << 64 | int(parsed.v6[i, 1])
            assert (parsed.family[i], got) == (6, int(expected)), text
        else:
            assert (parsed.family[i], int(parsed.v4[i])) == (4, int(expected)), text


# -- the compiled bulk readers -------------------------------------------------------------------

EDGE_IPV6 = [
    "::",
    "::1",
    "1::",
    "::ffff:1.2.3.4",
    "::ffff:01.2.3.4",
    "1:2:3:4:5:6:1.2.3.4",
    "ABCD:EF01::",
    "aBcD::eF",
    "0000:0000:0000:0000:0000:0000:0000:0001",
    "00001::",
    "1:2:3:4:5:6:7:8",
    "1:2:3:4:5:6:7:8:9",
    "1:2:3:4:5:6:7::",
    "::2:3:4:5:6:7:8",
    "1:2:3:4:5:6:7:8::",
    "::1:2:3:4:5:6:7:8",
    "1:2:3:4::5:6:7:8",
    "1::2::3",
    ":::",
    "1:::2",
    ":1::",
    "1:",
    ":",
    "::1:",
    "",
    " ::1",
    "::1 ",
    "::1\t",
    "é::1",
    "::é",
    "\x00::1",
    "fe80::1%eth0",
    "g::1",
    "1.2.3.4",
    "::1\n::2",
]


def _pton6(text: str) -> int | None:
    """What glibc's inet_pton reads: the reference the bulk reader must match exactly."""
    try:
        return int.from_bytes(socket.inet_pton(socket.AF_INET6, text), "big")
    except (OSError, ValueError):
        return None


_ipv6_like = st.one_of(
    _spelled_ipv6(),
    st.sampled_from(EDGE_IPV6),
    st.text(alphabet="0123456789abcdefABCDEF:.%g é\t\n", max_size=45),
    st.lists(st.sampled_from([*EDGE_IPV6, "0", "ffff", "1", ":", "::"]), max_size=4).map("".join),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_ipv6_like, max_size=30))
def test_bulk_ipv6_reader_agrees_with_inet_pton(texts: list[str]) -> None:
    pairs, ok = addresses._parse_ipv6_bulk(texts)
    for i, text in enumerate(texts):
        expected = _pton6(text)
        assert bool(ok[i]) == (expected is not None), repr(text)
        if expected is not None:
            assert int(pairs[i, 0]) << 64 | int(pairs[i, 1]) == expected, repr(text)


@settings(max_examples=200, deadline=None)
@given(st.lists(_ipv6_like.filter(lambda t: "\n" not in t), min_size=1, max_size=30))
def test_compiled_ipv6_reader_is_sure_only_where_inet_pton_agrees(texts: list[str]) -> None:
    """OK: the value inet_pton gives; REJECTED: inet_pton refuses too; UNSURE: left to it."""
    buf = np.frombuffer(("\n".join(texts) + "\n").encode("ascii", "replace"), np.uint8)
    out = np.empty((len(texts), 2), np.uint64)
    status = np.empty(len(texts), np.uint8)
    assert kernels.parse_ipv6_lines(buf, out, status)
    for i, text in enumerate(texts):
        expected = _pton6(text)
        if status[i] == kernels.OK:
            assert int(out[i, 0]) << 64 | int(out[i, 1]) == expected, repr(text)
        elif status[i] == kernels.REJECTED:
            assert expected is None, repr(text)
    plain = [t for t in texts if t and set(t) <= set("0123456789abcdefABCDEF:")]
    sure = {t for t, s in zip(texts, status.tolist(), strict=True) if s != kernels.UNSURE}
    assert {t for t in plain if _pton6(t) is not None} <= sure


def test_bulk_ipv6_reader_survives_items_that_break_the_joined_buffer() -> None:
    texts = ["::1", "1::\n::2", 5, "2001:db8::", None, "x"]
    pairs, ok = addresses._parse_ipv6_bulk(texts)  # type: ignore[arg-type]
    assert ok.tolist() == [True, False, False, True, False, False]
    assert pairs[3].tolist() == [0x20010DB800000000, 0]


def test_a_large_batch_takes_the_bulk_path_and_reads_like_a_small_one() -> None:
    rng = np.random.default_rng(7)
    pairs = rng.integers(0, 2**64, (addresses.BULK_MIN + 5, 2), dtype=np.uint64)
    texts = ipv6_to_text(pairs)
    texts[::1000] = ["::ffff:10.0.0.1"] * len(texts[::1000])
    texts[1::1000] = ["bad::address::"] * len(texts[1::1000])
    big = parse_addresses(texts)
    small = [parse_addresses(texts[i : i + 1000]) for i in range(0, len(texts), 1000)]
    assert (big.v6 == np.concatenate([s.v6 for s in small])).all()
    assert (big.family == np.concatenate([s.family for s in small])).all()
    assert [i for i, _ in big.malformed] == list(range(1, len(texts), 1000))


_ipv4_like = st.one_of(
    st.ip_addresses(v=4).map(str),
    st.text(alphabet="0123456789.", max_size=17),
    st.sampled_from([*BAD, "0.0.0.0", "255.255.255.255", "1.2.3.04", "1.2.3.256", "1.2.3.4."]),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(_ipv4_like, max_size=30))
def test_bulk_ipv4_reader_agrees_with_the_vector_reader(texts: list[str]) -> None:
    values, ok = addresses._parse_ipv4_bulk(texts)
    ref_values, ref_ok = addresses._parse_ipv4_chunk(texts)
    assert ok.tolist() == ref_ok.tolist()
    assert values[ok].tolist() == ref_values[ref_ok].tolist()
    for i, text in enumerate(texts):
        if ok[i]:
            assert int(values[i]) == int(ipaddress.IPv4Address(text)), text


def test_numba_without_anywhere_to_cache_still_compiles(tmp_path: Path) -> None:
    """A read-only install: no cache locator applies, and the kernels compile in memory."""
    script = (
        "from hostwatch.net import addresses\n"
        "pairs, ok = addresses._parse_ipv6_bulk(['2001:db8::1', 'nope'])\n"
        "print(ok.tolist(), hex(int(pairs[0, 0])))\n"
    )
    env = {**os.environ, "NUMBA_CACHE_LOCATOR_CLASSES": "IPythonCacheLocator"}
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["[True,", "False]", "0x20010db800000000"]
