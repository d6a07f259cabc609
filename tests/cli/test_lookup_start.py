"""``hostwatch lookup`` started without typer answers exactly as typer's command does.

The plain invocations of ``lookup`` skip typer's pydantic coercion, the settings model and (for a
few addresses against stored tables) NumPy, so that one lookup costs less than pyasn's (issue 14).
Each case here runs the same arguments both ways, as real processes, and compares status, output
and errors byte for byte; the module lists prove the two ways really differ.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from hostwatch.clock import Clock, parse_instant
from hostwatch.net.fetch.run import import_reference_files
from hostwatch.net.fetch.store import ReferenceStore
from hostwatch.net.routing import RoutingTable

# Either way, the process writes down the modules it imported as it exits.
_LAUNCH = """
import atexit, sys
def _write(path=sys.argv.pop(1)):
    with open(path, "w") as out:
        out.write("\\n".join(sorted(sys.modules)))
atexit.register(_write)
sys.argv[0] = "hostwatch"
from hostwatch.cli.app import {entry}
{entry}()
"""
QUICK = _LAUNCH.format(entry="main")  # what the hostwatch command runs
TYPER = _LAUNCH.format(entry="app")  # typer's command, always


@pytest.fixture
def world(tmp_path: Path) -> dict[str, Path]:
    """A table imported as ``mine.tsv`` (with warnings), a text table, a broken one, inputs."""
    mine = tmp_path / "mine.tsv"
    mine.write_text(
        "prefix\torigin_asn\n192.0.2.0/24\t64500\n198.51.100.0/24\t23456\n"
        "2001:db8::/32\t64501\n10.0.0.0/8\t64502\n10.1.0.0/16\t64503\n"
    )
    store = ReferenceStore.under(tmp_path / "state")
    import_reference_files(store, [mine], clock=Clock.at(parse_instant("2026-11-01T12:00:00Z")))
    other = tmp_path / "other.tsv"
    other.write_text("203.0.113.0/24\t64510\n192.0.2.0/25\t64511\n")
    broken = RoutingTable.load(other).save(tmp_path / "broken.npz")
    broken.write_bytes(broken.read_bytes()[:300])
    ips = tmp_path / "ips.txt"
    ips.write_text("192.0.2.7\n\n2001:db8::1\n=1+2\n 10.1.2.3 \n203.0.113.9\n8.8.8.8\n::1\n")
    junk = tmp_path / "junk.txt"
    junk.write_text("".join(f"host{i}.example\n" for i in range(25)) + "198.51.100.1\n")
    (binary,) = (tmp_path / "state" / "reference").glob("*/*.npz")
    return {
        "dir": tmp_path,
        "ips": ips,
        "junk": junk,
        "other": other,
        "broken": broken,
        "binary": binary,
    }


def _run(
    launch: str, folder: Path, args: list[str], stdin: str = "", env: dict[str, str] | None = None
) -> tuple[tuple[int, str, str], set[str]]:
    listing = folder / "modules.txt"
    done = subprocess.run(
        [sys.executable, "-c", launch, str(listing), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=folder,
        env=env
        or {
            **os.environ,
            "HOSTWATCH_STATE_DIR": str(folder / "state"),
            "HOSTWATCH_CONFIG": str(folder / "absent.toml"),
            "HOSTWATCH_DATABASE_URL": f"sqlite:///{folder / 'hostwatch.db'}",
            "COLUMNS": "100",
        },
    )
    return (done.returncode, done.stdout, done.stderr), set(listing.read_text().split())


CASES = {
    "name": ["--table", "mine.tsv", "{ips}"],
    "short and verbose": ["-t", "mine.tsv", "{ips}", "--verbose"],
    "equals, option last": ["{ips}", "--table=mine.tsv", "-v"],
    "first table wins, text table": ["--table", "{other}", "--table", "mine.tsv", "{ips}"],
    "stored table by path": ["--table", "{binary}", "{ips}"],
    "stdin": ["--table", "mine.tsv", "--no-details", "-"],
    "many bad lines": ["--table", "mine.tsv", "{junk}"],
    "unknown name": ["--table", "nosuch.tsv", "{ips}"],
    "broken stored table": ["--table", "{broken}", "{ips}"],
    "details": ["--table", "mine.tsv", "--details", "{ips}"],
    "missing --table": ["{ips}"],
    "two files": ["--table", "mine.tsv", "{ips}", "{ips}"],
    "unknown option": ["--table", "mine.tsv", "--colour", "{ips}"],
    "no value": ["{ips}", "--table"],
}
DECLINED = {"missing --table", "two files", "unknown option", "no value"}


@pytest.mark.parametrize("case", CASES)
def test_both_starts_answer_byte_for_byte_alike(world: dict[str, Path], case: str) -> None:
    args = ["lookup", *(a.format(**world) for a in CASES[case])]
    stdin = "198.51.100.20\nnot-an-ip\n"
    quick, quick_modules = _run(QUICK, world["dir"], args, stdin)
    typer, typer_modules = _run(TYPER, world["dir"], args, stdin)
    assert quick == typer
    assert "typer._adapters" in typer_modules  # typer's pydantic coercion ran there ...
    if case in DECLINED:
        assert quick[0] == 2 and "typer._adapters" in quick_modules  # ... typer explains
    else:
        assert "typer._adapters" not in quick_modules  # ... and not here
        assert quick[0] == (1 if case in {"unknown name", "broken stored table"} else 0)


def test_the_answers_are_the_expected_ones(world: dict[str, Path]) -> None:
    """Not only alike: right (first table wins; hostile text stays one inert cell)."""
    args = ["lookup", "-t", str(world["other"]), "-t", "mine.tsv", str(world["ips"])]
    (status, out, err), modules = _run(QUICK, world["dir"], args)
    assert status == 0, err
    assert out.splitlines() == [
        "ip,prefix,origin_asn",
        "192.0.2.7,192.0.2.0/25,64511",
        "2001:db8::1,2001:db8::/32,64501",
        "'=1+2,,",
        "10.1.2.3,10.1.0.0/16,64503",
        "203.0.113.9,203.0.113.0/24,64510",
        "8.8.8.8,,",
        "::1,,",
    ]
    assert err.splitlines() == [
        f"warning: {world['other']}: 2 warnings (2 special-purpose space routed); --verbose "
        "lists them",
        "warning: mine.tsv: 6 warnings (5 special-purpose space routed, 1 origin AS_TRANS "
        "23456); --verbose lists them",
        f"{world['ips']}:4: not an IP address: '=1+2'",
    ]
    assert "numpy" in modules  # a text table is read by the NumPy loaders


def test_one_lookup_imports_neither_numpy_nor_pydantic(world: dict[str, Path]) -> None:
    (status, out, _), modules = _run(QUICK, world["dir"], ["lookup", "-t", "mine.tsv", "-"], "::1")
    assert status == 0 and out.endswith("::1,,\n")
    assert not {"numpy", "pydantic", "hostwatch.settings", "typer._adapters"} & modules


def test_the_state_folder_comes_from_the_settings_file_or_any_case_of_its_variable(
    world: dict[str, Path],
) -> None:
    folder = world["dir"]
    base = {k: v for k, v in os.environ.items() if not k.upper().startswith("HOSTWATCH_")}
    config = folder / "hostwatch.toml"
    config.write_text(f'state_dir = "{folder / "state"}"\n')
    args = ["lookup", "--table", "mine.tsv", "-"]
    for env in (
        {**base, "HOSTWATCH_CONFIG": str(config)},
        {**base, "hostwatch_state_dir": str(folder / "state")},
    ):
        quick, _ = _run(QUICK, folder, args, "192.0.2.1\n", env)
        assert quick == _run(TYPER, folder, args, "192.0.2.1\n", env)[0]
        assert quick[0] == 0 and quick[1].endswith("192.0.2.1,192.0.2.0/24,64500\n"), quick
    config.write_text("state_dir = 5\n")  # not a path: the settings refuse it, naming it
    status, _, err = _run(
        QUICK, folder, args, "192.0.2.1\n", {**base, "HOSTWATCH_CONFIG": str(config)}
    )[0]
    assert status != 0 and "state_dir" in err
