"""Why no notice went out is on the case's timeline for analysts, and hidden from the provider.

An inhibition's reason is the hotline's own (a police investigation, say): the provider it is
about must not learn of it, not even that its notices are being held back.
"""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from webworld import NOW, World

from conftest import bearer
from hostwatch.model import Case
from hostwatch.model.db import session_scope
from hostwatch.takedown.inhibitions import add_inhibition, inhibited

REASON = "police investigation 2024-117: do not alert the hoster"


def test_the_reason_is_on_the_analysts_timeline_only(client: TestClient, world: World) -> None:
    case_id = world.cases["alpha"][0]
    with session_scope(world.db_url) as session:
        add_inhibition(
            session,
            kind="provider",
            value="Alpha Hosting",
            reason=REASON,
            expires_at=NOW + timedelta(days=30),
            actor="analyst:ana",
            now=NOW,
        )
        case = session.get(Case, case_id)
        assert case is not None
        assert inhibited(session, case, NOW) is not None
    path = f"/api/v1/cases/{case_id}/timeline"
    analyst = client.get(path, headers=bearer(world.tokens["analyst"]))
    assert analyst.status_code == 200
    held = [e for e in analyst.json() if e.get("action") == "case.inhibited"]
    assert len(held) == 1 and held[0]["reason"] == REASON
    provider = client.get(path, headers=bearer(world.tokens["alpha"]))
    assert provider.status_code == 200
    assert all(e.get("action") != "case.inhibited" for e in provider.json())
    assert "police" not in provider.text and "inhibit" not in provider.text
