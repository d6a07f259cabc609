"""Each source's trust level: whether its reports were assessed before they reached us.

The rule, in this one place: a source someone configured (``hostwatch sources set``) has the
level they set; a source nobody configured is *assessed* when it came in through ``hostwatch
ingest`` or the API in a format of the hotline's own exports (CSV, JSON Lines, IntelMQ, X-ARF),
and *unassessed* when it came in a public feed's format (PhishTank, URLhaus, OpenPhish). A
notice from an assessed source starts notice-and-takedown at once; one from an unassessed
source opens its case and is checked, but its notice waits for an analyst
(:mod:`hostwatch.takedown.triage`). A change applies to cases opened from then on; cases already
waiting stay in the queue for an analyst.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hostwatch.model.audit import record
from hostwatch.model.notice import Notice
from hostwatch.model.triage import SourceTrust

PUBLIC_FEED_FORMATS = frozenset(
    {"phishtank", "phishtank-lifetimes", "urlhaus", "urlhaus-intervals", "openphish"}
)
"""Formats of public feeds: anyone can report into them, so nobody assessed their reports."""


def configured_trust(session: Session) -> dict[str, bool]:
    """Source name -> assessed, for every source someone configured (a small table)."""
    rows = session.execute(select(SourceTrust.source, SourceTrust.assessed))
    return {source: assessed for source, assessed in rows}


def is_assessed(configured: Mapping[str, bool], source: str, format: str) -> bool:
    """Whether a notice from ``source``, received in ``format``, counts as assessed."""
    if source in configured:
        return configured[source]
    return format not in PUBLIC_FEED_FORMATS


def set_trust(session: Session, source: str, *, assessed: bool, actor: str, now: datetime) -> bool:
    """Configure ``source``'s trust level (audited); False when it already had that level."""
    source = source.strip()
    if not source or len(source) > 200:
        raise ValueError("a source name has 1 to 200 characters")
    row = session.get(SourceTrust, source, with_for_update=True)
    if row is not None and row.assessed == assessed:
        return False
    level = "assessed" if assessed else "unassessed"
    record(
        session,
        at=now,
        actor=actor,
        action=f"source.{level}",
        object_type="source",
        object_id=source[:64],
        reason=f"source {source!r} set {level}",
        data={"source": source, "assessed": assessed, "was": None if row is None else row.assessed},
    )
    if row is None:
        session.add(SourceTrust(source=source, assessed=assessed, set_at=now, set_by=actor))
    else:
        row.assessed, row.set_at, row.set_by = assessed, now, actor
    return True


@dataclass(frozen=True)
class SourceView:
    """One source as ``hostwatch sources list`` shows it."""

    name: str
    assessed: bool
    configured: bool
    set_by: str | None
    set_at: datetime | None
    formats: tuple[str, ...]
    notices: int
    last_received_at: datetime | None

    @property
    def trust(self) -> str:
        return "assessed" if self.assessed else "unassessed"

    def as_dict(self) -> dict[str, object]:
        return {
            "source": self.name,
            "trust": self.trust,
            "configured": self.configured,
            "set_by": self.set_by,
            "set_at": self.set_at.isoformat() if self.set_at else None,
            "formats": list(self.formats),
            "notices": self.notices,
            "last_received_at": self.last_received_at.isoformat()
            if self.last_received_at
            else None,
        }


def list_sources(session: Session) -> list[SourceView]:
    """Every source configured or named by a notice, with its trust and how it got it.

    Notices, not intake runs, name the sources: an IntelMQ file carries one per event
    (``feed.name``). A source seen in several formats without a configuration is listed as
    assessed only if every one of them is; each notice is still judged by its own format.
    """
    seen: dict[str, list[tuple[str, int, datetime | None]]] = {}
    for source, fmt, count, last in session.execute(
        select(Notice.source, Notice.format, func.count(), func.max(Notice.received_at)).group_by(
            Notice.source, Notice.format
        )
    ):
        seen.setdefault(source, []).append((fmt, int(count), last))
    configured = {row.source: row for row in session.scalars(select(SourceTrust))}
    views = []
    for name in sorted(set(seen) | set(configured)):
        parts = sorted(seen.get(name, []))
        row = configured.get(name)
        formats = tuple(p[0] for p in parts)
        assessed = (
            row.assessed
            if row is not None
            else bool(formats) and all(is_assessed({}, name, fmt) for fmt in formats)
        )
        views.append(
            SourceView(
                name=name,
                assessed=assessed,
                configured=row is not None,
                set_by=row.set_by if row else None,
                set_at=row.set_at if row else None,
                formats=formats,
                notices=sum(p[1] for p in parts),
                last_received_at=max((p[2] for p in parts if p[2]), default=None),
            )
        )
    return views
