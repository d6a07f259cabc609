"""The DNS answer each notice of a batch may be attributed with: one of the notice's own time.

Resolving a host now tells who hosts it now. For a notice of today that is the notice's time
(the usual case: attribution right after intake); for a notice of 2019 it is not, and today's
address placed in 2019's routing table would name a party that never hosted the URL. So:

* a notice for which an answer now is contemporaneous (see :class:`.staleness.TimeLimits`) is
  resolved now, each host once per batch;
* a *historical* notice takes the stored answer (a ``dns`` observation) nearest its time within
  the DNS limit, preferring one with addresses;
* a historical notice without one has no contemporaneous address: it is resolved now only when
  ``resolve_historical`` asks for it (and its attribution is then "resolved later", stale).

Every answer obtained now is stored as an observation, so recomputing later finds it.
"""

from __future__ import annotations

import bisect
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from hostwatch.attribution.staleness import TimeLimits
from hostwatch.model import Observation
from hostwatch.net.dns import DnsAnswer, resolve_many

if TYPE_CHECKING:
    from hostwatch.attribution.chain import Targets
    from hostwatch.clock import Clock

_SOURCE = "attribution via "


@dataclass
class RowAnswers:
    """Per row of a batch: the answer to attribute with, or whether none is contemporaneous."""

    answers: list[DnsAnswer | None]
    not_contemporaneous: list[bool]
    resolved_hosts: int = 0
    seconds: float = 0.0


def answers_for_rows(
    session: Session,
    targets: Targets,
    *,
    resolver: str | None,
    clock: Clock,
    limits: TimeLimits,
    resolve_historical: bool = False,
) -> RowAnswers:
    """Choose (and where allowed, obtain) each row's DNS answer; store new answers."""
    n = len(targets)
    out = RowAnswers([None] * n, [False] * n)
    kinds, reported = targets.host_type, targets.reported_ip
    rows = [i for i in range(n) if kinds[i] == "domain" and not reported[i]]
    if not rows:
        return out
    now = clock.now()
    historical = [i for i in rows if limits.resolved_later((now - targets.at[i]).total_seconds())]
    unanswered = _from_observations(session, targets, historical, limits, out)
    old = set(historical)
    live = {targets.host[i] for i in rows if i not in old}
    if resolve_historical:
        live.update(targets.host[i] for i in unanswered)
    else:
        for i in unanswered:
            out.not_contemporaneous[i] = True
    if not live:
        return out
    started = time.perf_counter()
    fresh = resolve_many(sorted(live), resolver, clock=clock)
    out.seconds = time.perf_counter() - started
    out.resolved_hosts = len(fresh)
    _store(session, fresh)
    for i in rows:
        if out.answers[i] is None and not out.not_contemporaneous[i]:
            out.answers[i] = fresh.get(targets.host[i])
    return out


def _from_observations(
    session: Session, targets: Targets, rows: list[int], limits: TimeLimits, out: RowAnswers
) -> list[int]:
    """Give historical rows the stored answer nearest their time; the rows left without one."""
    if not rows:
        return []
    window = timedelta(seconds=limits.dns_seconds)
    earliest = min(targets.at[i] for i in rows) - window
    latest = max(targets.at[i] for i in rows) + window
    stored = _stored_answers(session, {targets.host[i] for i in rows}, earliest, latest)
    missing = []
    for i in rows:
        answer = _nearest(stored.get(targets.host[i], ()), targets.at[i], limits.dns_seconds)
        if answer is None:
            missing.append(i)
        else:
            out.answers[i] = answer
    return missing


def _stored_answers(
    session: Session, hosts: set[str], earliest: datetime, latest: datetime
) -> dict[str, list[DnsAnswer]]:
    """Stored DNS answers of these hosts between two instants, oldest first per host."""
    found: dict[str, list[DnsAnswer]] = defaultdict(list)
    names = sorted(hosts)
    for start in range(0, len(names), 5000):
        query = (
            select(Observation.host, Observation.observed_at, Observation.source, Observation.data)
            .where(
                Observation.kind == "dns",
                Observation.host.in_(names[start : start + 5000]),
                Observation.observed_at >= earliest,
                Observation.observed_at <= latest,
            )
            .order_by(Observation.host, Observation.observed_at, Observation.id)
        )
        for host, observed_at, source, data in session.execute(query):
            found[host].append(_answer(host, observed_at, source, data or {}))
    return found


def _answer(host: str, at: datetime, source: str, data: dict[str, Any]) -> DnsAnswer:
    return DnsAnswer(
        host=host,
        addresses=tuple(data.get("addresses") or ()),
        cname_chain=tuple(data.get("cname_chain") or ()),
        ttl=data.get("ttl"),
        rcode=data.get("rcode"),
        error=data.get("error"),
        resolver=source.removeprefix(_SOURCE),
        at=at,
        elapsed=0.0,
    )


def _nearest(answers: list[DnsAnswer], at: datetime, limit: float) -> DnsAnswer | None:
    """The answer nearest ``at`` within ``limit`` seconds, one with addresses first."""
    lo = bisect.bisect_left(answers, at - timedelta(seconds=limit), key=lambda a: a.at)
    hi = bisect.bisect_right(answers, at + timedelta(seconds=limit), key=lambda a: a.at)
    near = sorted(answers[lo:hi], key=lambda a: (not a.addresses, abs((a.at - at).total_seconds())))
    return near[0] if near else None


def _store(session: Session, answers: dict[str, DnsAnswer]) -> None:
    """Keep each answer as an observation (records are immutable; attributions are derived)."""
    if not answers:
        return
    session.execute(
        insert(Observation),
        [
            {
                "kind": "dns",
                "observed_at": answer.at,
                "source": f"{_SOURCE}{answer.resolver}",
                "host": host,
                "data": {
                    "addresses": list(answer.addresses),
                    "cname_chain": list(answer.cname_chain),
                    "rcode": answer.rcode,
                    "error": answer.error,
                    "ttl": answer.ttl,
                },
            }
            for host, answer in answers.items()
        ],
    )
