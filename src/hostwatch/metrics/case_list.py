"""The case list as rows: what ``hostwatch cases`` prints and exports.

``takedown_seconds`` comes from :func:`hostwatch.metrics.takedown.takedown_seconds`, the one
definition the API and the dossier use too: the removal time (the first check of the run of
failed checks that confirmed the URL offline) minus the first message actually sent. The last
check that saw it online is ``last_online_at``, so the true takedown lies between the two
(interval-censored). A case still online has no takedown time (right-censored); one removed
before any message was sent has none either.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hostwatch.metrics.takedown import takedown_seconds
from hostwatch.model.case import Case
from hostwatch.model.party import Contact, Provider
from hostwatch.model.url import Url

COLUMNS = (
    "id",
    "url",
    "provider",
    "contact",
    "state",
    "held",
    "classification",
    "country",
    "opened_at",
    "first_message_at",
    "last_message_at",
    "messages_sent",
    "escalation_level",
    "last_online_at",
    "removed_at",
    "takedown_seconds",
)


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def case_rows(session: Session, *, state: str | None = None) -> list[dict[str, Any]]:
    """One dict per case (COLUMNS), oldest first; instants as ISO 8601 UTC strings."""
    query = (
        select(Case, Url.url, Provider.name, Contact.email)
        .join(Url, Url.id == Case.url_id)
        .outerjoin(Provider, Provider.id == Case.provider_id)
        .outerjoin(Contact, Contact.id == Case.contact_id)
        .order_by(Case.id)
    )
    if state:
        query = query.where(Case.state == state)
    rows = []
    for case, url, provider, contact in session.execute(query):
        rows.append(
            {
                "id": case.id,
                "url": url,
                "provider": provider,
                "contact": contact,
                "state": case.state,
                "held": case.held,
                "classification": case.classification,
                "country": case.country,
                "opened_at": _iso(case.opened_at),
                "first_message_at": _iso(case.first_message_at),
                "last_message_at": _iso(case.last_message_at),
                "messages_sent": case.messages_sent,
                "escalation_level": case.escalation_level,
                "last_online_at": _iso(case.last_online_at),
                "removed_at": _iso(case.removed_at),
                "takedown_seconds": takedown_seconds(case.first_message_at, case.removed_at),
            }
        )
    return rows
