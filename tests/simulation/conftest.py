"""The demo year the simulation tests share, on a port chosen once for every run of it."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hostwatch.cli.app import app
from hostwatch.simulation.servers import CONTROL_IP
from hostwatch.simulation.world import PARTIES

DEMO_OPTIONS = ["--notices", "60", "--step-hours", "4", "--no-pdf"]
"""A small year: every simulated party and behaviour, in a fraction of the full demo's time."""


def _port_free_everywhere() -> int:
    """A port every simulated server address can bind: the port is part of each URL, so runs
    that are compared must share it."""
    addresses = [CONTROL_IP, *sorted({party.server_ip for party in PARTIES})]
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind((addresses[0], 0))
            port = probe.getsockname()[1]
        try:
            for address in addresses:
                with socket.socket() as sock:
                    sock.bind((address, port))
        except OSError:
            continue
        return port
    raise RuntimeError("no port free on every simulated server address")


@pytest.fixture(scope="session")
def demo_options() -> list[str]:
    return DEMO_OPTIONS


@pytest.fixture(scope="session")
def demo_port() -> int:
    return _port_free_everywhere()


@pytest.fixture(scope="session")
def demo_out(tmp_path_factory: pytest.TempPathFactory, demo_port: int) -> Path:
    """``hostwatch demo`` at the default seed (7), run in this process."""
    out = tmp_path_factory.mktemp("demo")
    result = CliRunner().invoke(
        app, ["demo", "--out", str(out), "--port", str(demo_port), *DEMO_OPTIONS]
    )
    assert result.exit_code == 0, result.output
    assert "SIMULATED year 2025: 60 notices" in result.output
    return out
