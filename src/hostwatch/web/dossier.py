"""Regulator dossiers: per provider that missed the 24-hour norm, the evidence in one document.

A dossier holds the provider, its figures, its removal orders and duty-of-care scorecard,
every case that was seen online past the norm with its timeline (messages sent, checks that
saw it online after the deadline: the evidence of
non-removal) and the head of the audit log at the time of export with the result of re-verifying
it, so a reader can later run ``hostwatch audit verify --head`` with the signed head it carries.
The figures and the choice of cases come from :mod:`hostwatch.metrics.takedown` (the norm, the
episodes seen online after it, the per-case takedown time); only conclusive checks are evidence.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from hostwatch.enforcement.orders import view_orders
from hostwatch.metrics.duty_of_care import scorecard
from hostwatch.metrics.period import period_between
from hostwatch.metrics.takedown import NORM_HOURS, confirmed, takedown_seconds
from hostwatch.model import Case, Check, Provider, Url
from hostwatch.model.audit_heads import HeadKey, published_head
from hostwatch.model.audit_verify import verify_log
from hostwatch.web.rows import iso
from hostwatch.web.stats import episodes_until, provider_figures
from hostwatch.web.timeline import Event, case_timeline

NORM = timedelta(hours=NORM_HOURS)

TEMPLATES = Path(__file__).parent / "portal" / "templates"


@dataclass
class ChainHead:
    events: int
    last_id: int | None
    last_hash: str | None
    intact: bool
    first_break: int | None

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


@dataclass
class MissedCase:
    id: int
    url: str
    state: str
    first_message_at: str | None
    deadline: str | None
    removed_at: str | None
    takedown_seconds: float | None
    online_checks_after_deadline: int
    timeline: list[Event] = field(default_factory=list)


@dataclass
class Dossier:
    provider: Provider
    stats: dict[str, Any]
    cases: list[MissedCase]
    chain: ChainHead
    generated_at: datetime
    audit_head: dict[str, Any] = field(default_factory=dict)
    orders: list[dict[str, Any]] = field(default_factory=list)
    scorecard: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "provider": {
                "id": self.provider.id,
                "name": self.provider.name,
                "country": self.provider.country,
            },
            "generated_at": iso(self.generated_at),
            "stats": self.stats,
            "audit_chain": self.chain.as_dict(),
            "audit_head": self.audit_head,
            "orders": self.orders,
            "scorecard": self.scorecard,
            "cases": [
                {
                    **{k: v for k, v in c.__dict__.items() if k != "timeline"},
                    "timeline": [e.as_dict() for e in c.timeline],
                }
                for c in self.cases
            ],
        }


def chain_head(session: Session) -> ChainHead:
    check = verify_log(session, None)
    first = check.first_problem
    return ChainHead(
        events=check.tree_size,
        last_id=check.last_event_id,
        last_hash=check.last_hash,
        intact=check.intact,
        first_break=(first.event_id if first.event_id is not None else first.index)
        if first
        else None,
    )


def providers_missing_deadlines(
    session: Session, now: datetime, *, offline_after: int
) -> list[dict[str, Any]]:
    """Providers with at least one episode seen online after the norm, with their figures."""
    return [
        f
        for f in provider_figures(session, now, offline_after=offline_after)
        if f["online_after_24h"]
    ]


def _missed_case_ids(frame: pl.DataFrame, provider: str) -> set[int]:
    """Cases of ``provider`` with an episode seen online after the norm."""
    missed = confirmed(frame).filter(
        (pl.col("provider") == provider)
        & (pl.col("left_hours") > NORM_HOURS)
        & pl.col("case_id").is_not_null()
    )
    return set(missed["case_id"].to_list())


def build_dossier(
    session: Session,
    provider_id: int,
    now: datetime,
    key: HeadKey | None = None,
    *,
    offline_after: int,
) -> Dossier:
    provider = session.get(Provider, provider_id)
    if provider is None:
        raise LookupError("no such provider")
    frame = episodes_until(session, now, offline_after=offline_after)
    stats = next(
        iter(
            provider_figures(
                session,
                now,
                offline_after=offline_after,
                where=Provider.id == provider_id,
                frame=frame,
            )
        ),
        {"provider_id": provider_id, "provider": provider.name, "n": 0},
    )
    missed: list[MissedCase] = []
    chosen = _missed_case_ids(frame, provider.name)
    rows = session.execute(
        select(Case, Url.url)
        .join(Url, Url.id == Case.url_id)
        .where(Case.id.in_(chosen), Case.first_message_at.is_not(None))
        .order_by(Case.first_message_at)
    ).all()
    for case, url in rows:
        deadline = case.first_message_at + NORM
        online_after = len(
            session.scalars(
                select(Check.id).where(
                    Check.url_id == case.url_id,
                    Check.online.is_(True),
                    Check.inconclusive_reason.is_(None),
                    Check.checked_at > deadline,
                )
            ).all()
        )
        missed.append(
            MissedCase(
                id=case.id,
                url=url,
                state=case.state,
                first_message_at=iso(case.first_message_at),
                deadline=iso(deadline),
                removed_at=iso(case.removed_at),
                takedown_seconds=takedown_seconds(case.first_message_at, case.removed_at),
                online_checks_after_deadline=online_after,
                timeline=case_timeline(session, case),
            )
        )
    orders = [
        v.as_json()
        for v in view_orders(session, now=now, offline_after=offline_after, provider_id=provider_id)
    ]
    card = scorecard(
        session,
        provider_id,
        period_between(None, now, "to date"),
        frame,
        now=now,
        offline_after=offline_after,
    )
    chain = chain_head(session)
    head = published_head(session, key if chain.intact else None, now)  # never sign a broken log
    return Dossier(provider, stats, missed, chain, now, head, orders, card)


def dossier_pdf(html: str) -> bytes:
    """The dossier page as PDF; WeasyPrint fetches nothing (all styles are inline)."""
    from weasyprint import HTML

    def refuse(url: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
        raise ValueError(f"dossier PDF must not load {url!r}")

    return HTML(string=html, url_fetcher=refuse).write_pdf()
