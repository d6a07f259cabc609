"""A ``hostwatch`` process loads only what its command needs (issue 14, the lookup target).

Start-up time is what a user notices first, and on a busy machine a wall-clock threshold either
flakes or is too loose to catch anything. These tests assert instead which modules a real process
imported (``sys.modules`` as it exits): the command modules it does not run, the settings machinery
when nothing needs settings, rich's help formatting for a lookup, and the heavy libraries. Each
of those costs tens to hundreds of milliseconds and once cost one lookup 2x pyasn's time.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer

from hostwatch.cli.app import COMMANDS, app, command_modules
from hostwatch.clock import Clock, parse_instant
from hostwatch.net.fetch.run import import_reference_files
from hostwatch.net.fetch.store import ReferenceStore

HOSTWATCH = Path(sys.executable).parent / "hostwatch"
COMMAND_MODULES = {f"hostwatch.cli.commands.{name}" for name in command_modules()}
HEAVY = {"polars", "pandas", "scipy", "matplotlib", "numba", "sqlalchemy", "duckdb", "fastapi"}


# ``-X importtime`` misses modules loaded with importlib.import_module (as the CLI loads its
# command modules), so the process writes down sys.modules as it exits.
RUN_AND_LIST_MODULES = """
import atexit, sys
def _write(path=sys.argv.pop(1)):
    with open(path, "w") as out:
        out.write("\\n".join(sorted(sys.modules)))
atexit.register(_write)
sys.argv[0] = "hostwatch"
from hostwatch.cli.app import main
main()
"""


def _imported(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess, set[str]]:
    """Run ``hostwatch ARGS`` as a user would; its output and every module the process imported."""
    env = {
        **os.environ,
        "HOSTWATCH_STATE_DIR": str(tmp_path / "state"),
        "HOSTWATCH_CONFIG": str(tmp_path / "absent.toml"),
        "HOSTWATCH_DATABASE_URL": f"sqlite:///{tmp_path / 'hostwatch.db'}",
        "COLUMNS": "250",
    }
    listing = tmp_path / "modules.txt"
    done = subprocess.run(
        [sys.executable, "-c", RUN_AND_LIST_MODULES, str(listing), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    modules = set(listing.read_text().split())
    assert "hostwatch.cli.app" in modules, done.stderr[-2000:]
    return done, modules


@pytest.fixture
def imported_table(tmp_path: Path) -> Path:
    """A routing table imported as ``mine.tsv`` (as ``hostwatch data import`` stores it)."""
    table = tmp_path / "mine.tsv"
    table.write_text("prefix\torigin_asn\n192.0.2.0/24\t64500\n198.51.100.0/24\t64501\n")
    store = ReferenceStore.under(tmp_path / "state")
    import_reference_files(store, [table], clock=Clock.at(parse_instant("2026-11-01T12:00:00Z")))
    (ips := tmp_path / "ips.txt").write_text("192.0.2.7\n")
    return ips


def test_a_lookup_imports_its_own_command_module_and_nothing_heavy(
    tmp_path: Path, imported_table: Path
) -> None:
    done, modules = _imported(tmp_path, "lookup", "--table", "mine.tsv", str(imported_table))
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.endswith("192.0.2.7,192.0.2.0/24,64500\n")
    assert modules & COMMAND_MODULES == {"hostwatch.cli.commands.lookup"}
    assert not modules & HEAVY
    assert "typer.rich_utils" not in modules  # rich formats help and errors, not a lookup
    assert "rich.console" not in modules
    assert "pydantic_settings" not in modules  # settings are read by hostwatch.settings itself


def test_lookup_help_builds_no_settings_and_loads_no_routing_code(tmp_path: Path) -> None:
    done, modules = _imported(tmp_path, "lookup", "--help")
    assert done.returncode == 0
    assert "--table" in done.stdout
    assert modules & COMMAND_MODULES == {"hostwatch.cli.commands.lookup"}
    assert not {"hostwatch.settings", "pydantic_settings", "numpy"} & modules
    assert not modules & HEAVY


def test_version_loads_no_command(tmp_path: Path) -> None:
    done, modules = _imported(tmp_path, "--version")
    assert done.stdout.strip().startswith("hostwatch ")
    assert not modules & COMMAND_MODULES
    assert "hostwatch.settings" not in modules


def test_a_global_option_reaches_the_settings_of_a_lazily_loaded_command(tmp_path: Path) -> None:
    done, modules = _imported(tmp_path, "--now", "2024-03-01T10:00:00Z", "settings")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "2024-03-01 10:00:00+00:00" in done.stdout
    assert modules & COMMAND_MODULES == {"hostwatch.cli.commands.admin"}


def test_top_level_help_lists_every_command_of_every_module(tmp_path: Path) -> None:
    done, _ = _imported(tmp_path, "--help")
    assert done.returncode == 0
    listed = {line.strip("│ ").split(" ")[0] for line in done.stdout.splitlines()}
    assert set(COMMANDS) <= listed


def test_the_command_map_names_exactly_what_each_module_registers() -> None:
    """COMMANDS is what lets a process skip the other modules: it must not drift from them."""
    import importlib

    registered: dict[str, str] = {}
    for name in command_modules():
        scratch = typer.Typer()
        importlib.import_module(f"hostwatch.cli.commands.{name}").register(scratch)
        for command in typer.main.get_group(scratch).commands:
            registered[command] = name
    assert registered == COMMANDS


def test_a_mistyped_command_is_suggested_from_all_modules() -> None:
    from typer.testing import CliRunner

    result = CliRunner().invoke(app, ["lokup"])
    assert result.exit_code != 0
    assert "Did you mean 'lookup'?" in result.output


@pytest.mark.parametrize("database", ["sqlite", "postgres"])
def test_a_database_never_migrated_is_one_line_naming_the_fix(
    tmp_path: Path, database: str, request: pytest.FixtureRequest
) -> None:
    """A first command on a fresh database printed a 60-line SQLAlchemy traceback."""
    if database == "sqlite":
        url = f"sqlite:///{tmp_path / 'fresh.db'}"
    else:
        import psycopg

        server = os.environ.get("HOSTWATCH_TEST_PG", "postgresql://postgres@127.0.0.1:5432")

        def admin(sql: str) -> None:
            with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
                conn.execute(sql)

        name = f"hw_fresh_{tmp_path.name[-20:]}".replace("-", "_").lower()
        admin(f'CREATE DATABASE "{name}"')
        request.addfinalizer(lambda: admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        url = f"{server}/{name}"
    done = subprocess.run(
        [str(HOSTWATCH), "metrics", "takedown", "--period", "2025"],
        env={**os.environ, "HOSTWATCH_DATABASE_URL": url},
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "run `hostwatch migrate` first" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
