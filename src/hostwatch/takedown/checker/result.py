"""The record one liveness check leaves behind: metadata only, never content.

A check result is an observation (DESIGN.md): immutable, timestamped by the hostwatch clock, and
complete enough that case states and takedown times can be recomputed from it later. It holds the
status line, a fixed set of headers, addresses, the redirect chain and timings; there is no field
a response body could end up in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class Outcome(StrEnum):
    """What a check found. Only ONLINE means the server answered with a non-error status."""

    ONLINE = "online"
    HTTP_ERROR = "http-error"
    DNS_FAIL = "dns-fail"
    NXDOMAIN = "nxdomain"
    REFUSED = "refused"
    TIMEOUT = "timeout"
    TLS_ERROR = "tls-error"
    BLOCKED = "blocked-by-policy"
    ERROR = "error"


HEADERS_OF_INTEREST = (
    "Server",
    "Content-Type",
    "Content-Length",
    "Location",
    "Last-Modified",
    "ETag",
    "Date",
    "Cache-Control",
    "X-Powered-By",
    "Via",
)
MAX_HEADER_VALUE = 512


@dataclass(frozen=True, slots=True)
class Timing:
    """Seconds spent per phase of the final hop; ``connect``/``tls`` are None on a reused
    connection or when the phase did not happen; ``first_byte`` ends when the response headers
    are parsed; ``total`` covers the whole check including redirects."""

    dns: float | None = None
    connect: float | None = None
    tls: float | None = None
    first_byte: float | None = None
    total: float = 0.0


@dataclass(frozen=True, slots=True)
class Hop:
    """One response in a redirect chain."""

    url: str
    status: int
    ip: str | None


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One liveness observation of one URL."""

    url: str
    outcome: Outcome
    checked_at: datetime
    final_url: str | None = None
    status: int | None = None
    method: str | None = None
    ip: str | None = None
    port: int | None = None
    addresses: tuple[str, ...] = ()
    headers: dict[str, str] = field(default_factory=dict)
    redirects: tuple[Hop, ...] = ()
    timing: Timing = Timing()
    error: str | None = None
    failure: str | None = None
    """The failure kind (a row of ``fault.FAILURES``); None when online."""
    inconclusive: str | None = None
    """Why this check is evidence of nothing about the target (set by the runner from the
    failure kind, the batch's control probes and the check's wall time); None when it counts."""

    @property
    def online(self) -> bool:
        return self.outcome is Outcome.ONLINE

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready mapping (the shape the ``checks`` table and exports store)."""
        return {
            "url": self.url,
            "outcome": self.outcome.value,
            "checked_at": self.checked_at.isoformat(),
            "final_url": self.final_url,
            "status": self.status,
            "method": self.method,
            "ip": self.ip,
            "port": self.port,
            "addresses": list(self.addresses),
            "headers": dict(self.headers),
            "redirects": [
                {"url": hop.url, "status": hop.status, "ip": hop.ip} for hop in self.redirects
            ],
            "timing": {
                "dns": self.timing.dns,
                "connect": self.timing.connect,
                "tls": self.timing.tls,
                "first_byte": self.timing.first_byte,
                "total": self.timing.total,
            },
            "error": self.error,
            "failure": self.failure,
            "inconclusive": self.inconclusive,
        }
