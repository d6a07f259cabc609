"""Special-purpose address space (RFC 6890 and friends) that should never be routed.

Real RIBs still carry some of it (the 2008 RouteViews table holds /32 host routes inside 10/8).
Such routes are kept, so answers stay the same as pyasn's, but each is reported: a private prefix
in a routing table is a leak, and an attribution to it would be wrong.
"""

from __future__ import annotations

import ipaddress

import numpy as np

_V4 = [
    "0.0.0.0/8",
    "10.0.0.0/8",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.0.0.0/24",
    "192.0.2.0/24",
    "192.168.0.0/16",
    "198.18.0.0/15",
    "198.51.100.0/24",
    "203.0.113.0/24",
    "224.0.0.0/3",
]
_V6 = [
    "::/8",
    "100::/64",
    "2001:db8::/32",
    "fc00::/7",
    "fe80::/10",
    "ff00::/8",
]


def bogon_ipv4(network: np.ndarray, length: np.ndarray) -> np.ndarray:
    """True where the IPv4 prefix lies inside special-purpose space."""
    network = np.asarray(network, dtype=np.uint32)
    out = np.zeros(network.shape[0], bool)
    for text in _V4:
        block = ipaddress.IPv4Network(text)
        shift = np.uint32(32 - block.prefixlen)
        base = np.uint32(int(block.network_address) >> (32 - block.prefixlen))
        out |= ((network >> shift) == base) & (length >= block.prefixlen)
    return out


def bogon_ipv6(network: np.ndarray, length: np.ndarray) -> np.ndarray:
    """True where the IPv6 prefix (``(n, 2)`` uint64) lies inside special-purpose space."""
    high = np.asarray(network, dtype=np.uint64)[:, 0]
    out = np.zeros(high.shape[0], bool)
    for text in _V6:
        block = ipaddress.IPv6Network(text)
        bits = min(block.prefixlen, 64)
        shift = np.uint64(64 - bits)
        base = np.uint64((int(block.network_address) >> 64) >> (64 - bits))
        out |= ((high >> shift) == base) & (length >= block.prefixlen)
    return out
