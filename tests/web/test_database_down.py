"""The database goes away while the service runs: every route that needs it answers 503 with a
time to retry, never a 500 (which tells a client its request was at fault) and never a hang.

PostgreSQL is "down" as a port where nothing listens (the test cannot stop the shared server);
SQLite as a database file whose folder is gone.
"""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from hostwatch.model.db import migrate
from hostwatch.settings import Settings
from hostwatch.web.app import create_app

ROUTES = ("/healthz", "/api/v1/cases?limit=5", "/api/v1/feed", "/api/v1/providers")


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # closed again when the test connects


def _assert_unavailable(settings: Settings) -> None:
    with TestClient(
        create_app(settings), base_url="http://127.0.0.1", raise_server_exceptions=False
    ) as client:
        for route in ROUTES:
            got = client.get(route, headers={"Authorization": "Bearer hw_" + "x" * 30})
            assert got.status_code == 503, (route, got.status_code, got.text)
            assert int(got.headers["retry-after"]) >= 1
            assert "unreachable" in got.json()["detail"]


@pytest.mark.postgres
def test_postgresql_unreachable_is_a_503_everywhere(tmp_path: Path) -> None:
    url = f"postgresql://postgres@127.0.0.1:{_closed_port()}/hostwatch"
    _assert_unavailable(Settings(database_url=url, state_dir=tmp_path))


def test_a_sqlite_file_gone_is_a_503_everywhere(tmp_path: Path) -> None:
    folder = tmp_path / "db"
    folder.mkdir()
    url = f"sqlite:///{folder / 'hostwatch.db'}"
    migrate(url)
    shutil.rmtree(folder)
    _assert_unavailable(Settings(database_url=url, state_dir=tmp_path))
