"""Longest match of addresses against a short list of hand-entered networks.

Manual provider prefixes and network-scoped contacts number in the tens or hundreds, so each is
tested against the whole address array in turn, longest first; the first hit per address wins.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from hostwatch.net.addresses import FAMILY_V4, FAMILY_V6, AddressArray

_FULL = 0xFFFFFFFFFFFFFFFF


@dataclass(frozen=True, slots=True)
class _Rule:
    version: int
    length: int
    network_hi: int
    mask_hi: int
    network_lo: int
    mask_lo: int
    index: int


class PrefixIndex:
    """Networks (CIDR text) with a payload index each; unparsable entries are listed in ``bad``."""

    def __init__(self, networks: Iterable[tuple[str, int]]) -> None:
        self.rules: list[_Rule] = []
        self.bad: list[tuple[str, str]] = []
        for text, index in networks:
            try:
                net = ipaddress.ip_network(text.strip(), strict=False)
            except ValueError as exc:
                self.bad.append((text, str(exc)))
                continue
            value, mask = int(net.network_address), int(net.netmask)
            if net.version == 4:
                self.rules.append(_Rule(4, net.prefixlen, value, mask, 0, 0, index))
            else:
                self.rules.append(
                    _Rule(
                        6,
                        net.prefixlen,
                        value >> 64,
                        mask >> 64,
                        value & _FULL,
                        mask & _FULL,
                        index,
                    )
                )
        self.rules.sort(key=lambda rule: -rule.length)

    def __len__(self) -> int:
        return len(self.rules)

    def match(self, addresses: AddressArray) -> np.ndarray:
        """Per address, the payload index of the longest network holding it, or -1."""
        out = np.full(len(addresses), -1, dtype=np.int64)
        if not self.rules or not len(addresses):
            return out
        v4 = addresses.family == FAMILY_V4
        v6 = addresses.family == FAMILY_V6
        values4 = addresses.v4.astype(np.uint64)
        hi, lo = addresses.v6[:, 0], addresses.v6[:, 1]
        for rule in self.rules:
            open_ = out < 0
            if rule.version == 4:
                hit = v4 & ((values4 & np.uint64(rule.mask_hi)) == np.uint64(rule.network_hi))
            else:
                hit = v6 & ((hi & np.uint64(rule.mask_hi)) == np.uint64(rule.network_hi))
                hit &= (lo & np.uint64(rule.mask_lo)) == np.uint64(rule.network_lo)
            out[open_ & hit] = rule.index
        return out
