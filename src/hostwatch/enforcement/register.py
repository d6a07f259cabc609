"""The public register of published sanction decisions.

What the public may learn: the provider, the date, how many orders and how many were missed, the
sanction and its amount, and the provider's response where it gave one. Never a URL, host or IP:
the register names hosting companies, not the locations of reported material. A provider's
response is free text it wrote, so anything in it that looks like a URL, an address or a host
name is blanked before publication.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hostwatch.model.order import SanctionRecord
from hostwatch.model.party import Provider

_LOCATION = re.compile(
    r"""(?ix)
    \b[a-z][a-z0-9+.-]*://\S+                                  # a URL with a scheme
    | \b(?:\d{1,3}\.){3}\d{1,3}(?:/\d{1,2})?\b                 # an IPv4 address or network
    | \b(?:[0-9a-f]{1,4}:){2,7}(?::|[0-9a-f]{1,4})(?:/\d{1,3})?  # an IPv6 address
    | \b(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}\b(?:/\S*)?  # a host name
    """
)
REDACTED = "[location removed]"


def redact_locations(text: str) -> str:
    """Blank anything that names a location: URLs, IP addresses, host names."""
    return _LOCATION.sub(REDACTED, text)


@dataclass(frozen=True)
class RegisterEntry:
    reference: str
    provider: str
    decided_at: datetime
    period: str
    orders: int | None
    orders_missed: int | None
    sanction: str
    amount_eur: float | None
    reasons: str | None
    responses: list[str]

    def as_json(self) -> dict[str, Any]:
        return {
            "reference": self.reference,
            "provider": self.provider,
            "decided_at": self.decided_at.isoformat().replace("+00:00", "Z"),
            "period": self.period,
            "orders": self.orders,
            "orders_missed": self.orders_missed,
            "sanction": self.sanction,
            "amount_eur": self.amount_eur,
            "reasons": self.reasons,
            "provider_responses": self.responses,
        }


def public_register(session: Session) -> list[RegisterEntry]:
    """Published decisions, newest first, with the providers' responses."""
    decisions = session.execute(
        select(SanctionRecord, Provider.name)
        .join(Provider, Provider.id == SanctionRecord.provider_id)
        .where(SanctionRecord.kind == "decision", SanctionRecord.published.is_(True))
        .order_by(SanctionRecord.at.desc(), SanctionRecord.id.desc())
    ).all()
    ids = [d.id for d, _ in decisions]
    responses: dict[int, list[str]] = {i: [] for i in ids}
    if ids:
        for row in session.scalars(
            select(SanctionRecord)
            .where(SanctionRecord.kind == "response", SanctionRecord.refers_to_id.in_(ids))
            .order_by(SanctionRecord.at, SanctionRecord.id)
        ):
            responses[row.refers_to_id or 0].append(redact_locations(row.text or ""))
    return [
        RegisterEntry(
            reference=d.reference,
            provider=name,
            decided_at=d.at,
            period=d.period,
            orders=(d.data or {}).get("orders"),
            orders_missed=(d.data or {}).get("orders_missed"),
            sanction=d.outcome or "none",
            amount_eur=d.amount_eur,
            reasons=redact_locations(d.text) if d.text else None,
            responses=responses[d.id],
        )
        for d, name in decisions
    ]
