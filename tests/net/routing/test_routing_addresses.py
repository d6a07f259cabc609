"""Bulk address parsing: exact on every spelling, never raising on junk."""

from __future__ import annotations

import ipaddress

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hostwatch.net.addresses import (
    IPV6_DTYPE,
    as_address_array,
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
