"""``hostwatch lookup --details`` adds AS name, provider and country from catalogued snapshots."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from pathlib import Path

from typer.testing import CliRunner

from hostwatch.attribution.reference import register_snapshot
from hostwatch.cli.app import app
from hostwatch.model.db import session_scope
from hostwatch.settings import Settings
from hostwatch.simulation.reference import write_reference
from hostwatch.simulation.world import PARTIES

AT = datetime(2025, 1, 1, tzinfo=UTC)


def test_details_columns(settings: Settings, tmp_path: Path) -> None:
    files = write_reference(PARTIES, tmp_path / "ref", AT)
    with session_scope(settings.database_url) as session:
        for kind in ("asnames", "rpsl"):
            register_snapshot(session, kind, files[kind], loaded_at=AT, valid_at=AT)
    ips = tmp_path / "ips.txt"
    ips.write_text("127.3.16.9\n127.1.2.3\nnot-an-ip\n")
    result = CliRunner().invoke(
        app,
        [
            "--now",
            "2025-06-01T00:00:00Z",
            "lookup",
            "--details",
            "--table",
            str(files["routing"]),
            str(ips),
        ],
    )
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert rows[0] == ["ip", "prefix", "origin_asn", "as_name", "provider", "country"]
    assert rows[1][:4] == ["127.3.16.9", "127.3.0.0/16", "64503", "BulkServers NL"]
    assert rows[2][:4] == ["127.1.2.3", "127.1.0.0/16", "64501", "Polder Datacenter B.V."]
    assert rows[3][1:3] == ["", ""]
    assert "not an IP address" in result.stderr
