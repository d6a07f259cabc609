"""Per-provider figures the portal, the API and the dossier share.

Deliberately simple descriptive counts over cases (the measurement layer owns the censored
time-to-takedown estimates): cases, open, removed, the share removed within the 24-hour norm of
the first sent message, the median observed takedown time and the cases that missed the norm.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, select, true
from sqlalchemy.orm import Session

from hostwatch.model import Case, Provider

NORM = timedelta(hours=24)
CLOSED_STATES = ("removed", "closed")


@dataclass
class ProviderStats:
    provider_id: int
    provider: str
    cases: int = 0
    open: int = 0
    removed: int = 0
    notified: int = 0
    within_norm: int = 0
    missed_norm: int = 0
    median_takedown_hours: float | None = None

    @property
    def within_norm_share(self) -> float | None:
        done = self.within_norm + self.missed_norm
        return round(self.within_norm / done, 4) if done else None

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "within_norm_share": self.within_norm_share}


def missed_norm(
    first_message_at: datetime | None, removed_at: datetime | None, now: datetime
) -> bool:
    """Whether the case stayed up longer than 24 h after the first message (so far)."""
    if first_message_at is None:
        return False
    end = removed_at or now
    return end - first_message_at > NORM


def provider_stats(
    session: Session, now: datetime, where: ColumnElement[bool] | None = None
) -> list[ProviderStats]:
    """Figures for every provider matching ``where`` that has at least one case."""
    query = (
        select(Provider.id, Provider.name, Case.state, Case.first_message_at, Case.removed_at)
        .join(Case, Case.provider_id == Provider.id)
        .where(where if where is not None else true())
    )
    by_id: dict[int, ProviderStats] = {}
    hours: dict[int, list[float]] = defaultdict(list)
    for pid, name, state, first, removed in session.execute(query):
        s = by_id.setdefault(pid, ProviderStats(pid, name))
        s.cases += 1
        if state in CLOSED_STATES or removed is not None:
            s.removed += 1
        else:
            s.open += 1
        if first is None:
            continue
        s.notified += 1
        if missed_norm(first, removed, now):
            s.missed_norm += 1
        elif removed is not None:
            s.within_norm += 1
        if removed is not None:
            hours[pid].append(max(0.0, (removed - first).total_seconds() / 3600))
    for pid, values in hours.items():
        by_id[pid].median_takedown_hours = round(statistics.median(values), 3)
    return sorted(by_id.values(), key=lambda s: (-s.cases, s.provider))
