"""A provider's duty-of-care scorecard as the web serves it, to the API and the portal alike:
the same scope rule, the same errors, the same disclosed fields."""

from __future__ import annotations

from typing import Any

from fastapi import HTTPException
from sqlalchemy.orm import Session

from hostwatch.metrics.duty_of_care import provider_scorecard
from hostwatch.web.auth import Principal
from hostwatch.web.deps import Service
from hostwatch.web.disclosure import disclose, sees_provider


def scorecard_view(
    session: Session, svc: Service, principal: Principal, provider_id: int, period: str | None
) -> dict[str, Any]:
    """The disclosed scorecard; 404 for a provider asking about another (as for one that does
    not exist, so the answer tells it nothing), 400 for an unreadable period."""
    if not sees_provider(principal, provider_id):
        raise HTTPException(404, "no such provider")
    try:
        card = provider_scorecard(
            session,
            provider_id,
            period,
            now=svc.clock.now(),
            offline_after=svc.settings.offline_after,
        )
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from exc
    except LookupError as exc:
        raise HTTPException(404, "no such provider") from exc
    return disclose("scorecard", card, principal)
