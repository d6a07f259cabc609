"""One DNS answer per host for a run whose checks all stand for one instant (a census).

A monitoring check must see the DNS answer of its own time (a host that moved, a rebinding
server), so the checker normally asks the resolver for every check. A census asks a different
question, "where is each URL of this list now", and its lists put many URLs on one host (100,000
URLs on 5,000 hosts in ``bench/census.py``): asking again for each URL multiplies the resolver's
work and the checker's CPU twentyfold and tells nothing new. So a census resolves each host once
and every URL on it is checked against that answer; the check itself (vetting, connecting, the
request) stays per URL, and the addresses vetted are still the ones connected to.

Only the zone's own word is kept: addresses, NXDOMAIN, an empty NOERROR (the failure kinds
``fault`` counts as the target's). An answer that failed on our side (our resolver timed out,
refused, cannot be reached) is handed to the checks waiting for it and then forgotten, so the
next URL on that host asks again instead of inheriting one lost datagram.
"""

from __future__ import annotations

import asyncio

from hostwatch.net.dns import DnsAnswer, DnsClient
from hostwatch.takedown.checker.fault import FAILURES, dns_failure


def _definitive(answer: DnsAnswer) -> bool:
    """Whether the answer is the zone's own (to keep) rather than our resolver failing us."""
    return answer.ok or FAILURES[dns_failure(answer)].counts


class SharedAnswers:
    """``resolve(host)`` through ``dns`` at most once per host while answers are definitive;
    concurrent calls for one host wait for the same lookup. Bound to one event loop."""

    def __init__(self, dns: DnsClient) -> None:
        self.dns = dns
        self._lookups: dict[str, asyncio.Future[DnsAnswer]] = {}

    def __len__(self) -> int:
        return len(self._lookups)

    async def resolve(self, host: str) -> DnsAnswer:
        lookup = self._lookups.get(host)
        if lookup is None:
            lookup = self._lookups[host] = asyncio.ensure_future(self.dns.resolve(host))
            lookup.add_done_callback(lambda done: self._settle(host, done))
        # shielded: a check cancelled (its total timeout) must not cancel its host's lookup
        # under the other checks waiting for it
        return await asyncio.shield(lookup)

    def _settle(self, host: str, lookup: asyncio.Future[DnsAnswer]) -> None:
        """Forget a lookup that did not give the zone's own answer, so it is asked again."""
        kept = not lookup.cancelled() and lookup.exception() is None
        if not (kept and _definitive(lookup.result())) and self._lookups.get(host) is lookup:
            del self._lookups[host]
