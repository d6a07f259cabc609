"""The same seed replays the same year: cases.csv, the report and its figures, to the digit.

Nothing may depend on the process (its PYTHONHASHSEED), the environment (HOSTWATCH_* settings),
the order in which the simulated providers read their mail or concurrent checks finish, or how
busy the machine is: the second year is made in another process, with another hash seed and
settings in its environment that would change the year if the demo read them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from hostwatch.cli.app import app
from hostwatch.simulation.demo import run_demo

FILES = (
    "restricted/cases.csv",
    "cases_researcher.csv",
    "takedown_by_provider.csv",
    "report.html",
    "restricted/report.html",
)


def _figures(out: Path) -> dict[str, object]:
    """``hostwatch metrics takedown`` on the year's database, as a user would ask for it."""
    result = CliRunner().invoke(
        app,
        [
            "--database-url",
            f"sqlite:///{out / 'hostwatch.db'}",
            "--now",
            "2026-01-01T00:00:00Z",
            "metrics",
            "takedown",
            "--period",
            "2025",
            "--format",
            "json",
        ],
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _another_hash_seed() -> str:
    return "1" if os.environ.get("PYTHONHASHSEED") == "0" else "0"


def test_the_same_seed_gives_the_same_year(
    demo_out: Path, demo_port: int, demo_options: list[str], tmp_path: Path
) -> None:
    again = tmp_path / "again"
    env = {
        **os.environ,
        "PYTHONHASHSEED": _another_hash_seed(),
        # each of these would change the year if the demo took its settings from the environment
        "HOSTWATCH_SMTP_URL": "smtp://127.0.0.1:9",
        "HOSTWATCH_OFFLINE_AFTER": "1",
        "HOSTWATCH_CHECK_INTERVAL_HOURS": "1",
        "HOSTWATCH_PSEUDONYM_KEY": "another key",
    }
    command = [str(Path(sys.executable).parent / "hostwatch"), "demo", "--out", str(again)]
    done = subprocess.run(
        [*command, "--port", str(demo_port), *demo_options],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr
    for name in FILES:
        first, second = (demo_out / name).read_text(), (again / name).read_text()
        assert first == second, f"{name} differs between two runs of seed 7"
    assert _figures(demo_out) == _figures(again)
    # the same mail, to the byte: tickets, threads and MIME boundaries come from the records.
    # A referral's evidence names the run's folder and resolver port (and the audit head
    # covers them), so referrals are compared by name only.
    first, second = (
        sorted((demo_out / "outbox").glob("*.eml")),
        sorted((again / "outbox").glob("*.eml")),
    )
    assert [p.name for p in first] == [p.name for p in second]
    notices = [
        (a, b) for a, b in zip(first, second, strict=True) if b"evidence-" not in a.read_bytes()
    ]
    assert notices and all(a.read_bytes() == b.read_bytes() for a, b in notices)


def test_another_seed_gives_another_year(demo_out: Path, demo_port: int, tmp_path: Path) -> None:
    other = run_demo(
        tmp_path / "other", notices=60, step_hours=4, seed=8, pdf=False, port=demo_port
    )
    cases = "restricted/cases.csv"
    assert other.out.joinpath(cases).read_text() != (demo_out / cases).read_text()
    assert _figures(other.out) != _figures(demo_out)
