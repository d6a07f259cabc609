"""Regulator dossiers: the PDF export and the hash-chain head it carries."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from test_security import login
from webworld import World

from conftest import bearer
from hostwatch.model import AuditEvent
from hostwatch.model.db import session_scope
from hostwatch.settings import Settings


def test_dossier_page_and_pdf(client: TestClient, world: World, settings: Settings) -> None:
    login(client, world.tokens["regulator"])
    beta = world.providers["beta"]
    page = client.get(f"/dossiers/{beta}").text
    with session_scope(settings.database_url) as s:
        head = s.scalar(select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1))
    assert head in page and "beta-host.example" in page and "chain intact" in page
    assert "checks online after the deadline: 1" in page
    pdf = client.get(f"/dossiers/{beta}.pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF") and len(pdf.content) > 2000
    js = client.get(f"/api/v1/dossiers/{beta}", headers=bearer(world.tokens["regulator"]))
    assert js.json()["audit_chain"]["last_hash"] == head
