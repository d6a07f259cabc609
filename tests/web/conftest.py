"""Fixtures for the service tests: a populated world, an app on it, a real server."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from webworld import NOW, World, build_world

from hostwatch.clock import Clock
from hostwatch.settings import Settings
from hostwatch.web.app import create_app


@pytest.fixture
def world(settings: Settings) -> World:
    return build_world(settings.database_url)


@pytest.fixture
def client(settings: Settings, world: World) -> Iterator[TestClient]:
    app = create_app(settings, clock=Clock.at(NOW))
    with TestClient(app, base_url="http://127.0.0.1") as c:
        yield c


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``hostwatch serve`` in a subprocess, its log captured to a file."""

    def __init__(self, db_url: str, tmp: Path, now: str | None = None, *, workers: int = 1) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = tmp / "serve.log"
        env = {
            **os.environ,
            "HOSTWATCH_DATABASE_URL": db_url,
            "HOSTWATCH_STATE_DIR": str(tmp / "state"),
            "HOSTWATCH_CONFIG": str(tmp / "absent.toml"),
        }
        if now:
            env["HOSTWATCH_NOW"] = now
        self.handle = open(self.log, "w")  # noqa: SIM115 - the server writes to it until stopped
        self.proc = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "hostwatch"),
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--log-level",
                "debug",
                "--workers",
                str(workers),
            ],
            env=env,
            stdout=self.handle,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 90  # a loaded 2-core CI machine imports slowly
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.base + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
            if self.proc.poll() is not None:
                break
        self.stop()
        raise RuntimeError(
            f"server did not start (exit {self.proc.returncode}):\n" + self.log.read_text()
        )

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.handle.close()


@pytest.fixture
def server(settings: Settings, world: World, tmp_path: Path) -> Iterator[Server]:
    srv = Server(settings.database_url, tmp_path, now=NOW.isoformat())
    yield srv
    srv.stop()
