"""Reachability of abuse desks, per provider: can a notice reach it, and does anyone answer?

Counted from the records, never stored: the messages written to a provider's own contacts in the
period (by their ``created_at``) and their deliveries, the cases that had nobody to write to,
and the provider's first answer through its feed. Per provider:

- ``messages``: messages to its contacts; ``delivered``: those with a ``sent`` delivery;
- ``bounced``: messages a delivery status notification reported as undeliverable
  (:mod:`hostwatch.takedown.bounces`); ``mailbox_full``: messages bounced or refused because the
  mailbox was full (:func:`mailbox_full`); ``failed``: messages given up on (a permanent refusal
  or too many temporary failures);
- ``webhook_attempts`` and ``webhook_failures``: posts to its webhook and those that did not get
  a 2xx (temporary or permanent);
- ``no_abuse_contact``: its cases opened in the period that were never notified because no
  contact could be found;
- ``notified_cases``, ``answered_cases`` and ``first_response_hours`` (median, with the minimum
  and maximum): from a case's first delivered message to the provider's first acknowledgement
  or "removed" answer through its feed (``provider.acknowledged`` / ``provider.resolved`` in the
  audit log); cases without an answer count in ``notified_cases`` only.

Authorities are not abuse desks and are left out.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from statistics import median
from typing import Any

import polars as pl
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hostwatch.metrics.period import Period
from hostwatch.model.audit import AuditEvent
from hostwatch.model.case import Case
from hostwatch.model.message import Delivery, Message
from hostwatch.model.party import Contact, Provider

ANSWERS = ("provider.acknowledged", "provider.resolved")
_FULL = re.compile(
    r"\b[45]\.2\.2\b|mailbox (is )?full|over ?quota|quota exceeded|insufficient storage",
    re.IGNORECASE,
)
COUNTS = (
    "messages",
    "delivered",
    "bounced",
    "mailbox_full",
    "failed",
    "webhook_attempts",
    "webhook_failures",
    "no_abuse_contact",
    "notified_cases",
    "answered_cases",
)
"""The counts of a row: they add up over providers (the totals, a report's grouped row)."""
COLUMNS = (
    "provider_id",
    "provider",
    *COUNTS,
    "first_response_hours",
    "first_response_hours_min",
    "first_response_hours_max",
)


def mailbox_full(code: int | None, detail: str | None) -> bool:
    """Whether a refusal or bounce says the mailbox is full (SMTP 552, DSN X.2.2, the words)."""
    return code == 552 or bool(_FULL.search(detail or ""))


@dataclass
class _Desk:
    messages: set[int] = field(default_factory=set)
    delivered: set[int] = field(default_factory=set)
    bounced: set[int] = field(default_factory=set)
    full: set[int] = field(default_factory=set)
    failed: set[int] = field(default_factory=set)
    webhook_attempts: int = 0
    webhook_failures: int = 0
    no_contact: int = 0
    notified: int = 0
    response_hours: list[float] = field(default_factory=list)


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def reachability(session: Session, period: Period) -> dict[str, Any]:
    """The reachability document for ``period``: one row per provider, and the totals."""
    names = {
        pid: name
        for pid, name in session.execute(
            select(Provider.id, Provider.name).where(Provider.kind != "authority")
        )
    }
    desks: dict[int, _Desk] = defaultdict(_Desk)
    deliveries = session.execute(
        select(
            Contact.provider_id,
            Message.id,
            Delivery.transport,
            Delivery.outcome,
            Delivery.smtp_code,
            Delivery.detail,
        )
        .join(Contact, Contact.id == Message.contact_id)
        .outerjoin(Delivery, Delivery.message_id == Message.id)
        .where(Message.created_at >= period.start, Message.created_at < period.end)
    )
    for provider_id, message_id, transport, outcome, code, detail in deliveries:
        if provider_id not in names:
            continue
        desk = desks[provider_id]
        desk.messages.add(message_id)
        if outcome is None:
            continue
        if outcome == "sent":
            desk.delivered.add(message_id)
        elif outcome == "bounced":
            desk.bounced.add(message_id)
        elif outcome == "failed":
            desk.failed.add(message_id)
        if outcome in ("bounced", "failed", "tempfail") and mailbox_full(code, detail):
            desk.full.add(message_id)
        if transport == "webhook":
            desk.webhook_attempts += 1
            desk.webhook_failures += outcome != "sent"
    for provider_id, count in session.execute(
        select(Case.provider_id, func.count())
        .where(
            Case.opened_at >= period.start,
            Case.opened_at < period.end,
            Case.contact_id.is_(None),
            Case.first_message_at.is_(None),
        )
        .group_by(Case.provider_id)
    ):
        if provider_id in names:
            desks[provider_id].no_contact += count
    answered = {
        case_id: at
        for case_id, at in session.execute(
            select(AuditEvent.object_id, func.min(AuditEvent.at))
            .where(AuditEvent.object_type == "case", AuditEvent.action.in_(ANSWERS))
            .group_by(AuditEvent.object_id)
        )
    }
    for case_id, provider_id, first in session.execute(
        select(Case.id, Case.provider_id, Case.first_message_at).where(
            Case.first_message_at >= period.start, Case.first_message_at < period.end
        )
    ):
        if provider_id not in names:
            continue
        desk = desks[provider_id]
        desk.notified += 1
        answer = answered.get(str(case_id))
        if answer is not None and answer >= first:
            desk.response_hours.append((answer - first).total_seconds() / 3600)
    rows = [_row(pid, names[pid], desk) for pid, desk in desks.items()]
    rows.sort(key=lambda r: (r["provider"], r["provider_id"]))
    totals = {
        name: sum(r[name] for r in rows)
        for name in COLUMNS[2:12]  # the counts
    }
    return {
        "period": {"label": period.label, "start": _iso(period.start), "end": _iso(period.end)},
        "providers": rows,
        "totals": totals,
    }


def _row(provider_id: int, name: str, desk: _Desk) -> dict[str, Any]:
    hours = sorted(desk.response_hours)
    return {
        "provider_id": provider_id,
        "provider": name,
        "messages": len(desk.messages),
        "delivered": len(desk.delivered),
        "bounced": len(desk.bounced),
        "mailbox_full": len(desk.full),
        "failed": len(desk.failed),
        "webhook_attempts": desk.webhook_attempts,
        "webhook_failures": desk.webhook_failures,
        "no_abuse_contact": desk.no_contact,
        "notified_cases": desk.notified,
        "answered_cases": len(hours),
        "first_response_hours": round(median(hours), 3) if hours else None,
        "first_response_hours_min": round(hours[0], 3) if hours else None,
        "first_response_hours_max": round(hours[-1], 3) if hours else None,
    }


def reachability_table(doc: dict[str, Any]) -> pl.DataFrame:
    """The document's provider rows as a table (for table, CSV and Parquet output)."""
    schema = {name: pl.Float64 if "hours" in name else pl.Int64 for name in COLUMNS}
    schema["provider"] = pl.String
    return pl.DataFrame(doc["providers"], schema=schema)


def load_reachability(database_url: str, period: Period) -> dict[str, Any]:
    """:func:`reachability` from the database at ``database_url``."""
    from hostwatch.model.db import session_scope

    with session_scope(database_url) as session:
        return reachability(session, period)
