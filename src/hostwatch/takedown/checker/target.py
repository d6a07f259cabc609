"""Turning hostile URL text into a request target that cannot smuggle anything.

Reported URLs and the ``Location`` headers of the servers behind them are attacker-written. The
target keeps only what a browser would use (WHATWG: tab and newline removed, surrounding control
characters and spaces stripped, host IDNA-encoded, user info dropped) and then insists on the
result being plain: a host of letters, digits, dots, hyphens and underscores or a canonical IP
literal, and a path and query of printable ASCII. So CR/LF can never reach a request line or a
header, and the ``Host`` header and TLS server name are built from the checked host only.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from dataclasses import dataclass

from yarl import URL

from hostwatch.takedown.checker.policy import IPAddress

MAX_URL_LENGTH = 8192
_DEFAULT_PORTS = {"http": 80, "https": 443}
_LABEL = re.compile(r"^[a-z0-9_-]{1,63}$")
_NUMERIC_LABEL = re.compile(r"^(?:0x[0-9a-f]*|[0-9]+)$")
_TAB_NEWLINE = str.maketrans("", "", "\t\n\r")
_C0_AND_SPACE = "".join(chr(code) for code in range(0x21))


class InvalidTarget(ValueError):
    """The text is not a URL the checker can request."""


class RefusedTarget(InvalidTarget):
    """A well-formed URL the policy refuses to request (scheme, numeric trick)."""


@dataclass(frozen=True, slots=True)
class Target:
    """One request destination, already normalised; ``literal`` is set for IP-literal hosts."""

    url: str
    scheme: str
    host: str
    port: int
    path_qs: str
    literal: IPAddress | None

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if _DEFAULT_PORTS[self.scheme] == self.port else f"{host}:{self.port}"

    @property
    def server_hostname(self) -> str | None:
        """The TLS SNI and certificate name: the host unless it is an IP literal; None for
        plain HTTP.

        The client keys its pool of kept-alive connections by address, port and this name. A
        plain HTTP server picks the virtual host by each request's ``Host`` header, so the host
        names of one server share its connections: a census of a hoster's 5,000 names on one
        address kept 5,000 idle connections open to it (one per name), which starved a server
        of its connection slots until its answers timed out and online URLs counted offline.
        Over TLS the connection belongs to the name its certificate was checked for."""
        if self.literal is not None or self.scheme != "https":
            return None
        return self.host.rstrip(".")

    def request_url(self, address: str) -> URL:
        """The URL that makes the client connect to ``address`` and to nothing else."""
        host = f"[{address}]" if ":" in address else address
        return URL(f"{self.scheme}://{host}:{self.port}{self.path_qs}", encoded=True)

    def join(self, location: str) -> Target:
        """The target a redirect points to, judged as strictly as a reported URL."""
        try:
            joined = URL(self.url).join(URL(_clean(location)))
        except (ValueError, TypeError) as exc:
            raise InvalidTarget(f"unusable redirect location: {exc}") from exc
        return parse_target(str(joined))


def _clean(text: str) -> str:
    return text.strip(_C0_AND_SPACE).translate(_TAB_NEWLINE)


@functools.lru_cache(maxsize=4096)
def _literal(host: str) -> IPAddress | None:
    """The host as an IP address, if it is one (cached: reported URLs share few hosts)."""
    if not (host[-1:].isdigit() or ":" in host):
        return None
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def parse_target(text: str, *, max_length: int = MAX_URL_LENGTH) -> Target:
    """Parse reported URL text; raise InvalidTarget (or RefusedTarget) with a short reason."""
    if len(text) > max_length:
        raise InvalidTarget(f"URL is {len(text)} characters, longer than {max_length}")
    cleaned = _clean(text)
    try:
        url = URL(cleaned)
        scheme = url.scheme.lower()
        host = url.raw_host
        port = url.port
        path_qs = url.raw_path_qs or "/"
    except (ValueError, TypeError, UnicodeError) as exc:
        raise InvalidTarget(f"not a URL: {exc}") from exc
    if not scheme:
        raise InvalidTarget("URL has no scheme")
    if scheme not in _DEFAULT_PORTS:
        raise RefusedTarget(f"scheme {scheme[:20]!r} is not http or https")
    if not host:
        raise InvalidTarget("URL has no host")
    host = host.lower()
    if port is None or not 0 < port < 65536:
        raise InvalidTarget("URL has no usable port")
    literal = _literal(host)
    if literal is None:
        labels = host.removesuffix(".").split(".")
        if len(host) > 253 or not all(_LABEL.match(label) for label in labels):
            raise InvalidTarget(f"host {host[:80]!r} is not a plain DNS name")
        if _NUMERIC_LABEL.match(labels[-1]):
            raise RefusedTarget(f"host {host[:80]!r} is a non-canonical numeric address")
    if not (path_qs.isascii() and path_qs.isprintable()) or " " in path_qs:
        raise InvalidTarget("path holds characters that are not printable ASCII")
    if len(path_qs) > max_length:
        raise InvalidTarget(f"encoded path is longer than {max_length} characters")
    normal = f"{scheme}://{'[' + host + ']' if ':' in host else host}"
    if port != _DEFAULT_PORTS[scheme]:
        normal += f":{port}"
    return Target(normal + path_qs, scheme, host, port, path_qs, literal)
