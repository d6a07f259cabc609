"""Control probes: proof that hostwatch's own vantage point works while it checks.

A failed check counts towards "removed" only when the checker could have seen the target had it
been there. So, with each batch of checks, the checker asks its configured resolver for a control
name that must resolve (``control_dns_name``) and checks control URLs that must be reachable
(``control_urls``), through the same resolver, address policy and connection pool as the checks.
A batch is judged by the probes on both sides of it: if either failed, every failure in the batch
is inconclusive with the probe's reason, while what the batch saw online still counts.

With no control configured there is no such proof; the checker then relies on the failure kinds
alone (``fault``), and says so in each health record (``"controls": "none"``).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from hostwatch.net.dns import DnsAnswer
from hostwatch.settings import Settings
from hostwatch.takedown.checker.client import Checker
from hostwatch.takedown.checker.fault import CONTROL_DNS_FAILED, CONTROL_URL_FAILED


@dataclass(frozen=True, slots=True)
class ControlReport:
    """One run of the control probes. ``ok`` is True when every configured probe passed (and
    when none is configured); ``reason`` names the first kind of probe that failed."""

    ok: bool
    reason: str | None
    dns: dict[str, Any] | None = None
    urls: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "reason": self.reason, "dns": self.dns, "urls": self.urls}


@dataclass(frozen=True)
class Controls:
    """The configured control probes; empty when the deployment configured none."""

    dns_name: str | None = None
    urls: tuple[str, ...] = ()

    @classmethod
    def from_settings(cls, settings: Settings) -> Controls:
        return cls(settings.control_dns_name, tuple(settings.control_urls))

    @property
    def configured(self) -> bool:
        return bool(self.dns_name or self.urls)

    async def probe(self, checker: Checker) -> ControlReport:
        """Run every probe at once through ``checker``; never raises for a failed probe."""

        async def lookup() -> DnsAnswer | None:
            return await checker.dns.resolve(self.dns_name) if self.dns_name else None

        answer, url_results = await asyncio.gather(
            lookup(), asyncio.gather(*(checker.check(url) for url in self.urls))
        )
        dns: dict[str, Any] | None = None
        reason: str | None = None
        if answer is not None:
            dns = {
                "name": self.dns_name,
                "ok": answer.ok,
                "rcode": answer.rcode,
                "error": answer.error,
                "resolver": answer.resolver,
                "elapsed": round(answer.elapsed, 4),
            }
            if not answer.ok:
                reason = CONTROL_DNS_FAILED
        urls = [
            {
                "url": result.url,
                "ok": result.online,
                "outcome": result.outcome.value,
                "status": result.status,
                "failure": result.failure,
                "elapsed": round(result.timing.total, 4),
            }
            for result in url_results
        ]
        if reason is None and not all(entry["ok"] for entry in urls):
            reason = CONTROL_URL_FAILED
        return ControlReport(reason is None, reason, dns, urls)


UNCONTROLLED = ControlReport(True, None)
"""The report of a deployment without control probes: nothing failed, nothing was shown."""
