"""The server matches new attributions against the watchlist on its own, once each."""

from __future__ import annotations

import time
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from webworld import NOW, World

from conftest import bearer
from hostwatch.attribution.watchlist import import_watchlist
from hostwatch.clock import Clock
from hostwatch.model import AuditEvent
from hostwatch.model.db import session_scope
from hostwatch.settings import Settings
from hostwatch.web.app import create_app


def test_background_scan_raises_each_alert_once(
    settings: Settings, world: World, tmp_path: Path
) -> None:
    listing = tmp_path / "list.txt"
    listing.write_text("AS64501\n")
    with session_scope(settings.database_url) as s:
        assert import_watchlist(s, listing, "police", NOW).added == 1
    app = create_app(settings, clock=Clock.at(NOW), watchlist_interval=0.1)
    with TestClient(app, base_url="http://127.0.0.1") as client:
        deadline = time.monotonic() + 20
        alerts: list = []
        while time.monotonic() < deadline and not alerts:
            time.sleep(0.2)
            alerts = client.get(
                "/api/v1/watchlist/alerts", headers=bearer(world.tokens["analyst"])
            ).json()
        time.sleep(0.5)  # a few more scans: nothing new to match
    assert [(a["kind"], a["value"], a["list"]) for a in alerts] == [("asn", "64501", "police")]
    with session_scope(settings.database_url) as s:
        n = s.scalar(select(func.count()).where(AuditEvent.action == "watchlist.match"))
    assert n == 1
