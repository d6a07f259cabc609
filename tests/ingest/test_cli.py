"""``hostwatch ingest`` and ``hostwatch export notices`` through the real command line app."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path

from typer.testing import CliRunner

from hostwatch.cli.app import app
from hostwatch.settings import Settings

runner = CliRunner()


def test_ingest_summary_rejects_and_export(
    settings: Settings, shared_data: Path, write_file: Callable[..., Path]
) -> None:
    (feed,) = shared_data.glob("05_*/feed_latest_*.txt")
    bad = write_file("bad.csv", "url,when\nhttp://ok.example/,2024-01-01\njavascript:x,\n")
    result = runner.invoke(app, ["ingest", str(feed), str(bad), "--time-column", "when"])
    assert result.exit_code == 0, result.output
    assert "300 new notices" in result.output and "1 new notices" in result.output
    assert "rejected 1 x scheme" in result.output
    (rejects,) = (settings.state_dir / "rejects").glob("bad.csv.*.csv")
    rows = list(csv.DictReader(rejects.open(encoding="utf-8")))
    assert [(r["line"], r["raw_excerpt"]) for r in rows] == [("3", "javascript:x,")]
    again = runner.invoke(app, ["ingest", str(feed)])
    assert "0 new notices, 300 already known" in again.output
    exported = runner.invoke(app, ["export", "notices", "--format", "csv"])
    assert exported.exit_code == 0
    table = list(csv.DictReader(io.StringIO(exported.stdout)))
    assert len(table) == 301 and table[0]["feed.name"] == "openphish"
    out = settings.state_dir / "n.jsonl"
    done = runner.invoke(app, ["export", "notices", "--format", "jsonl", "--out", str(out)])
    assert done.exit_code == 0 and len(out.read_text().splitlines()) == 301


def test_ingest_errors_are_messages_not_tracebacks(
    settings: Settings, write_file: Callable[..., Path], tmp_path: Path
) -> None:
    mystery = write_file("mystery.dat", "a,b\n1,2\n")
    result = runner.invoke(app, ["ingest", str(mystery), str(tmp_path / "missing.csv")])
    assert result.exit_code == 1
    assert "cannot tell the format" in result.output and "candidates" in result.output
    assert "missing.csv: no such file" in result.output
    assert "Traceback" not in result.output and isinstance(result.exception, SystemExit)
    wrong = runner.invoke(app, ["ingest", str(mystery), "--format", "nope"])
    assert wrong.exit_code == 2 and "not one of" in wrong.output
    mapped = runner.invoke(app, ["ingest", str(mystery), "--format", "csv", "--url-column", "zz"])
    assert mapped.exit_code == 1 and "no URL column 'zz'" in mapped.output


def test_parquet_needs_out(settings: Settings) -> None:
    result = runner.invoke(app, ["export", "notices", "--format", "parquet"])
    assert result.exit_code == 2 and "--out" in result.output
