"""The simulated world: providers, their networks and behaviour, and the notices a hotline gets.

The behaviours are the ones the monitor has to tell apart: fast and slow hosts, a reseller that
ignores notices until its network holder is told, a bulletproof host that only the authority moves,
a CDN in front of someone else, a provider that improves during the year, content that comes back
and content that moves to another host.
"""

from __future__ import annotations

import hashlib
import ipaddress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np


def stable_key(text: str) -> int:
    """A stable number for a text (``hash()`` differs per process: PYTHONHASHSEED)."""
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "big")


SIMULATED = "SIMULATED"


@dataclass(frozen=True)
class Behaviour:
    """How a party reacts to a notice: a log-normal delay, unless it ignores notices."""

    median_hours: float
    spread: float = 0.9
    ignores_notices: bool = False
    acts_on_escalation_hours: float | None = None
    improvement: float = 1.0  # factor on the median by the end of the year (0.25 = 4x faster)
    # Median hours to remove a URL after a regulator's removal order (None: orders are ignored
    # too); log-normal with ``spread``, so some orders are met and some missed.
    order_median_hours: float | None = None
    # Hours a network holder takes to act on its reseller's URL once told (None: as
    # ``acts_on_escalation_hours``); a slow holder leaves them for the regulator to order.
    acts_for_reseller_hours: float | None = None


@dataclass(frozen=True)
class Party:
    name: str
    country: str
    asn: int
    network: str
    abuse: str
    weight: float
    behaviour: Behaviour
    domain: str
    parent: str | None = None
    is_cdn: bool = False

    @property
    def server_ip(self) -> str:
        """The one loopback address this party's simulated web server listens on."""
        return str(ipaddress.ip_network(self.network)[1])


PARTIES: tuple[Party, ...] = (
    Party(
        "Polder Datacenter B.V.",
        "NL",
        64501,
        "127.1.0.0/16",
        "abuse@polder-dc.example",
        0.08,
        Behaviour(3),
        "polder-dc.example",
    ),
    Party(
        "Grachtenhost",
        "NL",
        64502,
        "127.2.0.0/16",
        "abuse@grachtenhost.example",
        0.12,
        Behaviour(20),
        "grachtenhost.example",
    ),
    Party(
        "BulkServers NL",
        "NL",
        64503,
        "127.3.0.0/16",
        "abuse@bulkservers.example",
        0.16,
        Behaviour(
            60, 1.1, acts_on_escalation_hours=12, order_median_hours=9, acts_for_reseller_hours=480
        ),
        "bulkservers.example",
    ),
    Party(
        "ShadowVPS Ltd",
        "SC",
        64503,
        "127.3.16.0/20",
        "noc@shadowvps.example",
        0.14,
        Behaviour(0, ignores_notices=True),
        "shadowvps.example",
        parent="BulkServers NL",
    ),
    Party(
        "Noordzee Cloud",
        "NL",
        64504,
        "127.4.0.0/16",
        "abuse@noordzee.example",
        0.18,
        Behaviour(6),
        "noordzee.example",
    ),
    Party(
        "Offshore Bulletproof Inc",
        "SC",
        64505,
        "127.5.0.0/16",
        "abuse@offshore-bp.example",
        0.07,
        Behaviour(0, ignores_notices=True, acts_on_escalation_hours=96),
        "offshore-bp.example",
    ),
    Party(
        "EdgeShield CDN",
        "US",
        64506,
        "127.6.0.0/16",
        "abuse@edgeshield.example",
        0.05,
        Behaviour(30),
        "edgeshield.example",
        is_cdn=True,
    ),
    Party(
        "Tulip Hosting",
        "NL",
        64507,
        "127.7.0.0/16",
        "abuse@tulip.example",
        0.03,
        Behaviour(2),
        "tulip.example",
    ),
    Party(
        "Dijk Networks",
        "NL",
        64508,
        "127.8.0.0/16",
        "abuse@dijknet.example",
        0.12,
        Behaviour(40, improvement=0.2),
        "dijknet.example",
    ),
    Party(
        "Windmill Web GmbH",
        "DE",
        64509,
        "127.9.0.0/16",
        "abuse@windmill.example",
        0.05,
        Behaviour(14),
        "windmill.example",
    ),
)

CLASSIFICATIONS = ("csam", "csam", "csam", "csam", "phishing", "malware-distribution")
WORDS = ("gallery", "share", "img", "cdn", "files", "host", "box", "pics", "drop", "vault")


@dataclass
class SimNotice:
    """One simulated report; ``online_until`` is filled in as the simulation decides removals."""

    url: str
    host: str
    party: Party
    received_at: datetime
    classification: str
    reference: str
    reappears_after: timedelta | None = None
    moves_to: Party | None = None


@dataclass
class World:
    start: datetime
    end: datetime
    parties: tuple[Party, ...]
    notices: list[SimNotice] = field(default_factory=list)

    def party(self, name: str) -> Party:
        return next(p for p in self.parties if p.name == name)


def build_world(year: int = 2025, notices: int = 1500, seed: int = 7, port: int = 80) -> World:
    """A reproducible hotline year: the same seed gives the same world.

    ``port`` is where the simulated web servers listen; it appears in the URLs unless it is 80.
    """
    rng = np.random.default_rng(seed)
    start = datetime(year, 1, 1, tzinfo=UTC)
    end = datetime(year + 1, 1, 1, tzinfo=UTC)
    weights = np.array([p.weight for p in PARTIES])
    weights /= weights.sum()
    world = World(start, end, PARTIES)
    span = (end - start).total_seconds() - 3 * 86400
    # Reports come in bursts (a forum found, a whole folder reported), so draw times per batch.
    batch_starts = np.sort(rng.uniform(0, span, size=max(1, notices // 6)))
    hosts: dict[int, list[str]] = {}
    for i in range(notices):
        party_index = int(rng.choice(len(PARTIES), p=weights))
        party = PARTIES[party_index]
        known = hosts.setdefault(party_index, [])
        if known and rng.random() < 0.6:
            host = known[int(rng.integers(len(known)))]
        else:
            host = f"{rng.choice(WORDS)}{len(known) + 1}.{party.domain}"
            known.append(host)
        offset = float(batch_starts[int(rng.integers(len(batch_starts)))] + rng.exponential(3600))
        received = start + timedelta(seconds=min(offset, span))
        path = f"/{rng.choice(WORDS)}/{rng.integers(10**6, 10**7)}.html"
        authority = host if port == 80 else f"{host}:{port}"
        notice = SimNotice(
            url=f"http://{authority}{path}",
            host=host,
            party=party,
            received_at=received.replace(microsecond=0),
            classification=str(rng.choice(CLASSIFICATIONS)),
            reference=f"SIM-{year}-{i + 1:06d}",
        )
        if rng.random() < 0.05:
            notice.reappears_after = timedelta(hours=float(rng.uniform(24, 240)))
        if party.name in {"BulkServers NL", "ShadowVPS Ltd"} and rng.random() < 0.1:
            notice.moves_to = world.party("Offshore Bulletproof Inc")
        world.notices.append(notice)
    world.notices.sort(key=lambda n: n.received_at)
    return world


def order_delay(party: Party, rng: np.random.Generator) -> float | None:
    """Hours from receiving a removal order to removal, or None when orders are ignored."""
    median = party.behaviour.order_median_hours
    if median is None:
        return None
    return float(rng.lognormal(np.log(median), party.behaviour.spread))


def removal_delay(
    party: Party, at: datetime, world: World, rng: np.random.Generator
) -> float | None:
    """Hours from receiving a notice to removal, or None when this party ignores notices."""
    behaviour = party.behaviour
    if behaviour.ignores_notices:
        return None
    progress = (at - world.start) / (world.end - world.start)
    median = behaviour.median_hours * (1 + (behaviour.improvement - 1) * progress)
    return float(rng.lognormal(np.log(max(median, 0.1)), behaviour.spread))
