"""The duty-of-care scorecard: how a hosting provider handles abuse on its network, per period.

A hoster's duty of care is about more than one URL: whether it meets removal orders, how fast it
acts on hotline notices, whether material returns through the same customer or reseller after a
removal, whether parties on a warning list are still served, and how long a reseller stays after
the provider was warned. Each line comes from the records (orders and checks, cases, audit
events); takedown time comes from the one definition in :mod:`hostwatch.metrics.takedown`.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from hostwatch.enforcement.orders import view_orders
from hostwatch.metrics.frame import build_frame
from hostwatch.metrics.period import Period, parse_period
from hostwatch.metrics.takedown import figures
from hostwatch.model.attribution import Attribution
from hostwatch.model.audit import AuditEvent
from hostwatch.model.case import Case
from hostwatch.model.order import SanctionRecord
from hostwatch.model.party import Provider


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def _orders(
    session: Session, provider_id: int, period: Period, now: datetime, offline_after: int
) -> dict[str, Any]:
    views = view_orders(
        session,
        now=now,
        offline_after=offline_after,
        provider_id=provider_id,
        period=(period.start, period.end),
    )
    statuses = [v.status for v in views]
    outcomes = [c.outcome for v in views for c in v.cases]
    return {
        "received": len(views),
        **{
            status: statuses.count(status)
            for status in ("met", "missed", "undetermined", "open", "withdrawn")
        },
        "urls": len(outcomes),
        "urls_missed": outcomes.count("missed"),
        "acknowledged": sum(v.acknowledged_at is not None for v in views),
        "objected": sum(bool(v.objections) for v in views),
    }


def _repeat_offences(session: Session, provider_id: int, period: Period) -> list[dict[str, Any]]:
    """Per reseller: cases opened after an earlier case of the same reseller was removed."""
    rows = session.execute(
        select(Case.reseller, Case.opened_at, Case.removed_at)
        .where(
            Case.provider_id == provider_id, Case.reseller.is_not(None), Case.opened_at < period.end
        )
        .order_by(Case.reseller, Case.opened_at, Case.id)
    ).all()
    by_reseller: dict[str, list[tuple[datetime, datetime | None]]] = defaultdict(list)
    for reseller, opened, removed in rows:
        by_reseller[reseller].append((opened, removed))
    out = []
    for reseller, cases in sorted(by_reseller.items()):
        removals = sorted(r for _, r in cases if r is not None)
        if not removals:
            continue
        later = [o for o, _ in cases if o > removals[0] and period.contains(o)]
        if later:
            out.append({"reseller": reseller, "removals": len(removals), "cases_after": len(later)})
    return sorted(out, key=lambda r: (-r["cases_after"], r["reseller"]))


def _watchlist(session: Session, provider_id: int, period: Period) -> list[dict[str, Any]]:
    """Watchlist entries matched on the provider's attributions in the period."""
    hits: dict[tuple[str, str, str], list[datetime]] = defaultdict(list)
    for at, data in session.execute(
        select(AuditEvent.at, AuditEvent.data)
        .where(
            AuditEvent.action == "watchlist.match",
            AuditEvent.at >= period.start,
            AuditEvent.at < period.end,
        )
        .order_by(AuditEvent.id)
    ):
        if (data or {}).get("provider_id") == provider_id:
            hits[(data["list"], data["kind"], data["value"])].append(at)
    return [
        {
            "list": k[0],
            "kind": k[1],
            "value": k[2],
            "matches": len(v),
            "last_match_at": _iso(max(v)),
        }
        for k, v in sorted(hits.items())
    ]


def _warnings(session: Session, provider_id: int, period: Period) -> list[dict[str, Any]]:
    """For each warning decision: the resellers behind its orders, and when each was last seen
    in the provider's space after it (or that it is still there at the period's end)."""
    out = []
    decisions = session.scalars(
        select(SanctionRecord)
        .where(
            SanctionRecord.provider_id == provider_id,
            SanctionRecord.kind == "decision",
            SanctionRecord.at < period.end,
        )
        .order_by(SanctionRecord.at, SanctionRecord.id)
    ).all()
    for decision in decisions:
        proposal = (
            session.get(SanctionRecord, decision.refers_to_id) if decision.refers_to_id else None
        )
        case_ids = {
            int(c["case_id"])
            for order in ((proposal.data or {}).get("evidence", []) if proposal else [])
            for c in order.get("cases", [])
        }
        resellers = sorted(
            {r for r in session.scalars(select(Case.reseller).where(Case.id.in_(case_ids))) if r}
        )
        entries = []
        for reseller in resellers:
            last_seen = session.scalar(
                select(Attribution.at)
                .where(
                    Attribution.provider_id == provider_id,
                    Attribution.reseller == reseller,
                    Attribution.at < period.end,
                )
                .order_by(Attribution.at.desc())
                .limit(1)
            )
            newest_at_provider = session.scalar(
                select(Attribution.at)
                .where(Attribution.provider_id == provider_id, Attribution.at < period.end)
                .order_by(Attribution.at.desc())
                .limit(1)
            )
            gone = (
                last_seen is not None
                and newest_at_provider is not None
                and (last_seen < newest_at_provider)
            )
            entries.append(
                {
                    "reseller": reseller,
                    "last_seen_at": _iso(last_seen),
                    "still_present": not gone,
                    "days_warning_to_last_seen": round(
                        max(0.0, (last_seen - decision.at).total_seconds()) / 86400, 1
                    )
                    if gone and last_seen
                    else None,
                }
            )
        out.append(
            {
                "decision": decision.reference,
                "outcome": decision.outcome,
                "at": _iso(decision.at),
                "resellers": entries,
            }
        )
    return out


def scorecard(
    session: Session,
    provider_id: int,
    period: Period,
    frame: pl.DataFrame,
    *,
    now: datetime,
    offline_after: int,
) -> dict[str, Any]:
    """The scorecard of one provider; ``frame`` is the metrics frame of the same period."""
    provider = session.get(Provider, provider_id)
    if provider is None:
        raise LookupError("no such provider")
    mine = frame.filter(pl.col("provider") == provider.name) if frame.height else frame
    return {
        "provider": provider.name,
        "period": period.label,
        "orders": _orders(session, provider_id, period, now, offline_after),
        "hotline_notices": figures(mine),
        "repeat_offences": _repeat_offences(session, provider_id, period),
        "watchlist_served": _watchlist(session, provider_id, period),
        "warnings": _warnings(session, provider_id, period),
    }


def provider_scorecard(
    session: Session, provider_id: int, period: str | None, *, now: datetime, offline_after: int
) -> dict[str, Any]:
    """The scorecard of a provider for ``period`` (``2025``, ``2025Q1``, ``FROM..TO``; default:
    the year of ``now``), its episodes read through ``session``. ValueError names a bad period,
    LookupError an unknown provider."""
    window = parse_period(period or f"{now:%Y}")
    frame = build_frame(session.connection(), window, offline_after=offline_after)
    return scorecard(session, provider_id, window, frame, now=now, offline_after=offline_after)
