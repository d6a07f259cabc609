"""Addresses that no hosting provider can be named for: private, loopback, documentation, ...

A reported URL that resolves into such space (a mistake, a sinkhole, a rebinding trick) gets an
attribution with status ``bogon`` and the reason, instead of a routing lookup that would find
nothing or, worse, a default route. Checked over whole arrays (IANA special-purpose registries).
"""

from __future__ import annotations

import ipaddress

import numpy as np

from hostwatch.net.addresses import FAMILY_V4, FAMILY_V6, AddressArray

_V4 = (
    ("0.0.0.0/8", "'this network' (0.0.0.0/8)"),
    ("10.0.0.0/8", "private address space (10.0.0.0/8)"),
    ("100.64.0.0/10", "carrier-grade NAT space (100.64.0.0/10)"),
    ("127.0.0.0/8", "loopback (127.0.0.0/8)"),
    ("169.254.0.0/16", "link-local (169.254.0.0/16)"),
    ("172.16.0.0/12", "private address space (172.16.0.0/12)"),
    ("192.0.0.0/24", "IETF protocol assignments (192.0.0.0/24)"),
    ("192.0.2.0/24", "documentation range (192.0.2.0/24)"),
    ("192.168.0.0/16", "private address space (192.168.0.0/16)"),
    ("198.18.0.0/15", "benchmarking range (198.18.0.0/15)"),
    ("198.51.100.0/24", "documentation range (198.51.100.0/24)"),
    ("203.0.113.0/24", "documentation range (203.0.113.0/24)"),
    ("224.0.0.0/4", "multicast (224.0.0.0/4)"),
    ("240.0.0.0/4", "reserved (240.0.0.0/4)"),
)
# (network, reason) on the top 64 bits; ::/128, ::1 and IPv4-mapped need the low bits too.
_V6 = (
    ("2001:db8::/32", "documentation range (2001:db8::/32)"),
    ("2001::/32", "Teredo (2001::/32)"),
    ("2002::/16", "6to4 (2002::/16)"),
    ("fc00::/7", "unique local address (fc00::/7)"),
    ("fe80::/10", "link-local (fe80::/10)"),
    ("ff00::/8", "multicast (ff00::/8)"),
)


def _v4_rules() -> list[tuple[int, int, str]]:
    rules = []
    for cidr, reason in _V4:
        net = ipaddress.IPv4Network(cidr)
        rules.append((int(net.network_address), int(net.netmask), reason))
    return rules


def _v6_rules() -> list[tuple[int, int, str]]:
    rules = []
    for cidr, reason in _V6:
        net = ipaddress.IPv6Network(cidr)
        rules.append((int(net.network_address) >> 64, int(net.netmask) >> 64, reason))
    return rules


_V4_RULES = _v4_rules()
_V6_RULES = _v6_rules()


def special_reasons(addresses: AddressArray) -> np.ndarray:
    """Per address, why it cannot be attributed ('' for an ordinary public address).

    Malformed entries (family 0) get '' here: they are reported as malformed by the caller.
    """
    n = len(addresses)
    out = np.full(n, "", dtype=object)
    v4 = addresses.family == FAMILY_V4
    if v4.any():
        values = addresses.v4.astype(np.uint64)
        for network, mask, reason in reversed(_V4_RULES):
            out[v4 & ((values & np.uint64(mask)) == np.uint64(network))] = reason
    v6 = addresses.family == FAMILY_V6
    if v6.any():
        hi, lo = addresses.v6[:, 0], addresses.v6[:, 1]
        out[v6 & ((hi >> np.uint64(61)) != np.uint64(1))] = "not global unicast (outside 2000::/3)"
        for network, mask, reason in _V6_RULES:
            out[v6 & ((hi & np.uint64(mask)) == np.uint64(network))] = reason
        zero_hi = v6 & (hi == 0)
        out[zero_hi & (lo == 0)] = "unspecified address (::)"
        out[zero_hi & (lo == 1)] = "loopback (::1)"
        out[zero_hi & ((lo >> np.uint64(32)) == np.uint64(0xFFFF))] = "IPv4-mapped address"
    return out


def special_network_reason(network: ipaddress.IPv4Network | ipaddress.IPv6Network) -> str:
    """Why a prefix overlaps special-purpose space ('' for ordinary public space).

    The same tables as :func:`special_reasons`, for a whole prefix: one that lies inside special
    space or holds some of it cannot be a hosting provider's network.
    """
    if network.version == 4:
        for cidr, reason in _V4:
            if network.overlaps(ipaddress.IPv4Network(cidr)):
                return reason
        return ""
    if not network.subnet_of(ipaddress.IPv6Network("2000::/3")):
        return "not global unicast (outside 2000::/3)"
    for cidr, reason in _V6:
        if network.overlaps(ipaddress.IPv6Network(cidr)):
            return reason
    return ""
