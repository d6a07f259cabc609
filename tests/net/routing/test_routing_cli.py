"""``hostwatch lookup``: CSV in input order, several tables, hostile input kept harmless."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from pathlib import Path

from hostwatch.net.routing import RoutingTable
from hostwatch.net.routing.lookup_csv import MergedAnswers, write_lookup_csv


def _hostwatch(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-c", "from hostwatch.cli.app import main; main()", *args]
    return subprocess.run(
        command, input=stdin, capture_output=True, text=True, check=False, timeout=120
    )


def _tables(tmp_path: Path) -> tuple[Path, Path]:
    first = tmp_path / "first.tsv"
    first.write_text("10.0.0.0/8\t100\n192.0.2.0/24\t200\n")
    second = tmp_path / "second.tsv"
    second.write_text("10.1.0.0/16\t999\n2001:db8::/32\t600\n198.51.100.0/24\t300\n")
    return first, RoutingTable.load(second).save(tmp_path / "second.npz")


def test_lookup_prints_csv_in_input_order_first_table_wins(tmp_path: Path) -> None:
    first, second = _tables(tmp_path)
    ips = tmp_path / "ips.txt"
    ips.write_text("10.1.2.3\n\n2001:db8::1\n=1+2\n198.51.100.7\n8.8.8.8\n")
    done = _hostwatch("lookup", "--table", str(first), "--table", str(second), str(ips))
    assert done.returncode == 0, done.stderr
    rows = list(csv.reader(io.StringIO(done.stdout)))
    assert rows == [
        ["ip", "prefix", "origin_asn"],
        ["10.1.2.3", "10.0.0.0/8", "100"],
        ["2001:db8::1", "2001:db8::/32", "600"],
        ["'=1+2", "", ""],
        ["198.51.100.7", "198.51.100.0/24", "300"],
        ["8.8.8.8", "", ""],
    ]
    assert f"{ips}:4: not an IP address: '=1+2'" in done.stderr


def test_lookup_reads_stdin(tmp_path: Path) -> None:
    first, _ = _tables(tmp_path)
    done = _hostwatch("lookup", "--table", str(first), "-", stdin="192.0.2.55\n")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["ip,prefix,origin_asn", "192.0.2.55,192.0.2.0/24,200"]


class _Country:
    """A stand-in for the AS-name/provider/country columns added elsewhere."""

    names = ("country",)

    def __call__(self, answers: MergedAnswers) -> list[list[str | None]]:
        return [["NL" if asn == 100 else None for asn in answers.origin_asn.tolist()]]


def test_extra_columns_plug_in(tmp_path: Path) -> None:
    first, _ = _tables(tmp_path)
    out = io.StringIO()
    write_lookup_csv(out, [RoutingTable.load(first)], ["10.0.0.1", "9.9.9.9"], [_Country()])
    assert out.getvalue().splitlines() == [
        "ip,prefix,origin_asn,country",
        "10.0.0.1,10.0.0.0/8,100,NL",
        "9.9.9.9,,,",
    ]


def test_a_file_that_is_no_table_is_a_clear_error(tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("hello\n")
    done = _hostwatch("lookup", "--table", str(notes), "-", stdin="1.1.1.1\n")
    assert done.returncode == 1
    assert "cannot read routing table" in done.stderr and "not a routing table" in done.stderr
    assert "Traceback" not in done.stderr
