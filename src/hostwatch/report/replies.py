"""Right of reply: a provider's response to the report, kept per period and printed with it.

The analyst enters what a provider sent (``hostwatch report reply add``); the report prints the
replies of its period under the provider's name. Texts are data from outside, so the template
escapes them like every name.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hostwatch.model.reply import ReportReply

MAX_CHARS = 4000


def add_reply(
    session: Session,
    provider: str,
    period: str,
    text: str,
    now: datetime,
    entered_by: str | None = None,
) -> ReportReply:
    """Store one reply; a clear ValueError for an empty or over-long text or provider."""
    provider, text = provider.strip(), text.strip()
    if not provider:
        raise ValueError("reply: the provider's name is empty")
    if not text:
        raise ValueError("reply: the text is empty")
    if len(text) > MAX_CHARS:
        raise ValueError(f"reply: {len(text):,} characters; at most {MAX_CHARS:,} are printed")
    reply = ReportReply(
        provider=provider, period=period, text=text, entered_at=now, entered_by=entered_by
    )
    session.add(reply)
    session.flush()
    return reply


def replies_for(session: Session, period: str) -> list[dict[str, Any]]:
    """The period's replies, by provider then entry time, as the report and the CLI list them."""
    rows = session.scalars(
        select(ReportReply)
        .where(ReportReply.period == period)
        .order_by(ReportReply.provider, ReportReply.entered_at, ReportReply.id)
    ).all()
    return [
        {
            "id": r.id,
            "provider": r.provider,
            "period": r.period,
            "text": r.text,
            "entered_at": r.entered_at,
            "entered_by": r.entered_by,
        }
        for r in rows
    ]
