"""Know your resellers: who in a provider's own space draws the reports.

For the cases in the provider's verified space (the same cases its feed shows:
:func:`hostwatch.attribution.asset_match.cases_in_verified_space`), one row per reseller and per
customer below it, from the parties of each case's attribution
(:mod:`hostwatch.attribution.parties`): reported URLs, cases, open cases, and takedown time from
:mod:`hostwatch.metrics.takedown` (the one definition) over those cases' episodes in the window.

Natural persons are counted, never named, even to the provider whose customers they are: the
monitor's rule is that no report or export names a natural person, and a feed is an export.
All natural persons of a level make one row, "private individual", with their number.

Watchlist matches (police warning lists) are counted per row for staff only: a provider never
learns of them (the tipping-off rule; ``web/disclosure.py`` holds the field to staff).
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from hostwatch.attribution.asset_match import cases_in_verified_space
from hostwatch.attribution.parties import CUSTOMER, PRIVATE_INDIVIDUAL, RESELLER, shown_party
from hostwatch.metrics.frame import build_frame
from hostwatch.metrics.period import period_between
from hostwatch.metrics.takedown import figures
from hostwatch.model import Attribution, AuditEvent, Case
from hostwatch.net.party_kind import NATURAL_PERSON
from hostwatch.takedown.provider_feed import DONE_STATES

WINDOW_DAYS = 365
FIELDS = (
    "level",
    "name",
    "country",
    "kind",
    "parties",
    "urls",
    "cases",
    "open_cases",
    "n",
    "removed",
    "removed_within_24h",
    "removed_within_24h_upper",
    "median_hours",
    "median_status",
    "median_lower_hours",
    "median_upper_hours",
    "watchlist_matches",
)


@dataclass
class _Row:
    level: str
    name: str
    country: str | None
    kind: str
    parties: set[str] = field(default_factory=set)
    url_ids: set[int] = field(default_factory=set)
    case_ids: set[int] = field(default_factory=set)
    open_cases: int = 0


def _key(party: dict[str, Any]) -> tuple[str, str]:
    if party.get("kind") == NATURAL_PERSON:
        return party["level"], PRIVATE_INDIVIDUAL
    return party["level"], str(party.get("handle") or party.get("name"))


def resellers_in_space(
    session: Session, provider_id: int, *, now: datetime, offline_after: int
) -> list[dict[str, Any]]:
    """One row per reseller and customer in the provider's verified space, most URLs first."""
    found = session.execute(
        select(Case.id, Case.url_id, Case.state, Attribution.parties)
        .join(Attribution, Attribution.id == Case.attribution_id)
        .where(cases_in_verified_space(session, provider_id))
        .order_by(Case.id)
    ).all()
    rows: dict[tuple[str, str], _Row] = {}
    for case_id, url_id, state, parties in found:
        if isinstance(parties, str):
            parties = json.loads(parties)
        for party in parties or []:
            if party.get("level") not in (RESELLER, CUSTOMER):
                continue
            key = _key(party)
            shown = shown_party(party)
            row = rows.setdefault(
                key, _Row(shown["level"], shown["name"], shown["country"], shown["kind"])
            )
            row.parties.add(str(party.get("handle") or party.get("name")))
            row.url_ids.add(url_id)
            if case_id not in row.case_ids:
                row.case_ids.add(case_id)
                row.open_cases += state not in DONE_STATES
    if not rows:
        return []
    period = period_between(now - timedelta(days=WINDOW_DAYS), now, f"last {WINDOW_DAYS} days")
    frame = build_frame(session.connection(), period, offline_after=offline_after)
    matches = _watchlist_matches(session, {u for row in rows.values() for u in row.url_ids})
    out = []
    for row in rows.values():
        episodes = frame.filter(pl.col("case_id").is_in(sorted(row.case_ids)))
        numbers = figures(episodes)
        out.append(
            {
                "level": row.level,
                "name": row.name,
                "country": row.country,
                "kind": row.kind,
                "parties": len(row.parties),
                "urls": len(row.url_ids),
                "cases": len(row.case_ids),
                "open_cases": row.open_cases,
                **{name: numbers[name] for name in FIELDS if name in numbers},
                "watchlist_matches": sum(matches.get(u, 0) for u in row.url_ids),
            }
        )
    return sorted(out, key=lambda r: (r["level"] != RESELLER, -r["urls"], r["name"]))


def _watchlist_matches(session: Session, url_ids: set[int]) -> dict[int, int]:
    """Watchlist alerts per URL (the audit log's ``watchlist.match`` events)."""
    counts: dict[int, int] = defaultdict(int)
    for (data,) in session.execute(
        select(AuditEvent.data).where(AuditEvent.action == "watchlist.match")
    ):
        url_id = (data or {}).get("url_id")
        if url_id in url_ids:
            counts[url_id] += 1
    return counts
