"""Which addresses the liveness checker may connect to.

Reported URLs are written by criminals, and a checker that fetches whatever a URL names is a
server-side request forgery tool: a redirect to ``169.254.169.254`` reads cloud credentials, a
DNS answer of ``10.0.0.1`` probes the hotline's own network. So only globally routable unicast
addresses pass, and every form that merely wraps a forbidden IPv4 address (IPv4-mapped,
IPv4-compatible, 6to4, NAT64, Teredo) is judged by the address it wraps. Networks listed in the
``allow_networks`` setting pass regardless; tests use that for loopback servers.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

from hostwatch.settings import Settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_METADATA = {
    ipaddress.ip_address("169.254.169.254"): "cloud metadata service",
    ipaddress.ip_address("fd00:ec2::254"): "cloud metadata service",
    ipaddress.ip_address("100.100.100.200"): "cloud metadata service",
}
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_THIS_NETWORK = ipaddress.ip_network("0.0.0.0/8")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")


class BlockedAddress(Exception):
    """The target address is one the checker must not connect to; the message says why."""


def _embedded_ipv4(address: ipaddress.IPv6Address) -> tuple[ipaddress.IPv4Address, str] | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped, "IPv4-mapped"
    if address.sixtofour is not None:
        return address.sixtofour, "6to4"
    if address.teredo is not None:
        return address.teredo[1], "Teredo"
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF), "NAT64"
    if address in _IPV4_COMPATIBLE and int(address) > 1:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF), "IPv4-compatible"
    return None


def forbidden_reason(address: IPAddress) -> str | None:
    """Why this address is off limits by the default rule, or None when it is public unicast."""
    if address in _METADATA:
        return _METADATA[address]
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            inner, form = embedded
            reason = forbidden_reason(inner)
            return f"{form} form of {inner}: {reason}" if reason else None
        if address in _NAT64_LOCAL:
            return "local-use NAT64"
        if address.is_site_local:
            return "site-local"
    checks = (
        (address.is_unspecified, "unspecified"),
        (address.is_loopback, "loopback"),
        (address.is_link_local, "link-local"),
        (address.is_multicast, "multicast"),
        (isinstance(address, ipaddress.IPv4Address) and address in _CGNAT, "carrier-grade NAT"),
        (isinstance(address, ipaddress.IPv4Address) and address in _THIS_NETWORK, "this-network"),
        (address.is_reserved, "reserved"),
        (address.is_private, "private or special-purpose"),
        (not address.is_global, "not globally routable"),
    )
    return next((reason for matched, reason in checks if matched), None)


@dataclass(frozen=True)
class AddressPolicy:
    """The default rule plus explicitly allowed networks (``HOSTWATCH_ALLOW_NETWORKS``)."""

    allow: tuple[IPNetwork, ...] = ()

    @classmethod
    def allowing(cls, networks: Iterable[str | IPNetwork]) -> AddressPolicy:
        return cls(tuple(ipaddress.ip_network(net, strict=False) for net in networks))

    @classmethod
    def from_settings(cls, settings: Settings) -> AddressPolicy:
        return cls.allowing(settings.allow_networks)

    def _allowed(self, address: IPAddress) -> bool:
        return any(address.version == net.version and address in net for net in self.allow)

    def verdict(self, address: str | IPAddress) -> str | None:
        """None when the checker may connect to ``address``; otherwise the reason it may not."""
        return self._verdict(address)

    @functools.lru_cache(maxsize=4096)  # noqa: B019 - policies are few and long-lived
    def _verdict(self, address: str | IPAddress) -> str | None:
        if isinstance(address, str):
            try:
                address = ipaddress.ip_address(address)
            except ValueError:
                return f"{address[:80]!r} is not an IP address"
        if isinstance(address, ipaddress.IPv6Address) and address.scope_id:
            return f"{address} has a zone index"
        if self._allowed(address):
            return None
        if isinstance(address, ipaddress.IPv6Address):
            embedded = _embedded_ipv4(address)
            if embedded is not None and self._allowed(embedded[0]):
                return None
        reason = forbidden_reason(address)
        return f"{address} is {reason}" if reason else None

    def check(self, address: str | IPAddress) -> None:
        reason = self.verdict(address)
        if reason is not None:
            raise BlockedAddress(reason)
