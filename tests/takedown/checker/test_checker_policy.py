"""The address rule: only public unicast passes, wrapped forms are judged by what they wrap."""

from __future__ import annotations

import pytest

from hostwatch.takedown.checker.policy import AddressPolicy, BlockedAddress

FORBIDDEN = {
    "127.0.0.1": "loopback",
    "::1": "loopback",
    "10.0.0.1": "private",
    "172.16.5.4": "private",
    "192.168.1.1": "private",
    "169.254.169.254": "cloud metadata",
    "169.254.1.1": "link-local",
    "fe80::1": "link-local",
    "224.0.0.1": "multicast",
    "ff02::1": "multicast",
    "0.0.0.0": "unspecified",
    "::": "unspecified",
    "0.1.2.3": "this-network",
    "100.64.0.1": "carrier-grade NAT",
    "240.0.0.1": "reserved",
    "255.255.255.255": "reserved",
    "fc00::1": "private",
    "fec0::1": "site-local",
    "192.0.2.1": "private",
    "198.18.0.1": "private",
    "2001:db8::1": "private",
    "::ffff:127.0.0.1": "IPv4-mapped form of 127.0.0.1",
    "::ffff:169.254.169.254": "IPv4-mapped form of 169.254.169.254: cloud metadata",
    "::ffff:10.1.2.3": "IPv4-mapped",
    "::127.0.0.1": "IPv4-compatible",
    "2002:a00:1::": "6to4 form of 10.0.0.1",
    "2002:7f00:1::1": "6to4 form of 127.0.0.1",
    "64:ff9b::a9fe:a9fe": "NAT64 form of 169.254.169.254",
    "64:ff9b::7f00:1": "NAT64 form of 127.0.0.1",
    "64:ff9b:1::8.8.8.8": "local-use NAT64",
    "fd00:ec2::254": "cloud metadata",
    "fe80::1%eth0": "zone index",
}
PUBLIC = [
    "8.8.8.8",
    "93.184.216.34",
    "2606:4700::1111",
    "::ffff:8.8.8.8",
    "64:ff9b::808:808",
    "2002:808:808::1",
]


@pytest.mark.parametrize(("address", "reason"), FORBIDDEN.items())
def test_forbidden_addresses_are_refused_with_a_reason(address: str, reason: str) -> None:
    verdict = AddressPolicy().verdict(address)
    assert verdict is not None
    assert reason in verdict
    with pytest.raises(BlockedAddress):
        AddressPolicy().check(address)


@pytest.mark.parametrize("address", PUBLIC)
def test_public_unicast_passes(address: str) -> None:
    assert AddressPolicy().verdict(address) is None


def test_allowed_networks_open_exactly_themselves() -> None:
    policy = AddressPolicy.allowing(["127.0.0.0/8", "::1/128"])
    assert policy.verdict("127.0.0.1") is None
    assert policy.verdict("127.9.9.9") is None
    assert policy.verdict("::1") is None
    assert policy.verdict("::ffff:127.0.0.1") is None
    assert policy.verdict("10.0.0.1") is not None
    assert policy.verdict("169.254.169.254") is not None
    assert policy.verdict("::2") is not None


def test_policy_from_settings_reads_allow_networks() -> None:
    from hostwatch.settings import Settings

    policy = AddressPolicy.from_settings(Settings(allow_networks="127.0.0.0/8, ::1/128"))
    assert policy.verdict("127.0.0.1") is None
    assert policy.verdict("192.168.0.1") is not None


def test_text_that_is_no_address_is_refused() -> None:
    assert "not an IP address" in str(AddressPolicy().verdict("example.com"))
