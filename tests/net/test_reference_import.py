"""Reference data used as imported: real files under random names, looked up by those names.

Files are copied under random names first: what a file is must come from its bytes, and the name
it was imported under is the name ``hostwatch lookup --table`` and ``hostwatch data list`` use.
The CLI runs as a user runs it, in its own process.
"""

from __future__ import annotations

import ast
import gzip
import os
import secrets
import shutil
import string
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from hostwatch.attribution.reference import SnapshotRef, UnusableReferenceError
from hostwatch.clock import Clock
from hostwatch.net.fetch.run import import_reference_files
from hostwatch.net.fetch.store import ReferenceStore
from hostwatch.net.routing import RoutingTable

NOW = "2026-11-01T12:00:00Z"
HOSTWATCH = Path(sys.executable).parent / "hostwatch"
PYASN = "02_pyasn-routeviews-ipasn"
BGPTOOLS = "08_asn-names-classes-prefixes-2026/bgp.tools-opendb_2026-05-31"


def _random_copy(source: Path, folder: Path) -> Path:
    """The file under a name that says nothing (no kind, no date, no extension)."""
    target = folder / (
        "upload-" + "".join(secrets.choice(string.ascii_lowercase) for _ in "x" * 12)
    )
    shutil.copyfile(source, target)
    return target


@dataclass
class Imported:
    store: ReferenceStore
    state_dir: Path
    names: dict[str, str]  # what the file is -> the random name it was imported under
    copies: dict[str, Path]


@pytest.fixture(scope="module")
def imported(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Imported:
    folder = tmp_path_factory.mktemp("incoming")
    state = tmp_path_factory.mktemp("state")
    sources = {
        "ipasn-2014": shared_data / PYASN / "ipasn_20140513.dat.gz",
        "asns": shared_data / BGPTOOLS / "asns.csv.gz",
        "pyasn-names": shared_data / PYASN / "asnames.json.gz",
        "delegated": shared_data
        / "07_rir-delegated-extended-and-iana/2018-10-13_all5_from_IPToCC-2.1.2"
        / "delegated-lacnic-extended-20181013.gz",
        "ranges-v6": shared_data / "01_ip-location-db-asn/v2.3.2026061719/asn-ipv6.csv.gz",
    }
    copies = {what: _random_copy(path, folder) for what, path in sources.items()}
    store = ReferenceStore.under(state)
    outcomes = import_reference_files(store, list(copies.values()), clock=Clock.at(NOW))
    assert [o.status for o in outcomes] == ["imported"] * len(copies), outcomes
    return Imported(store, state, {k: p.name for k, p in copies.items()}, copies)


def _cli(
    state: Path, *args: str, python_flags: tuple[str, ...] = ()
) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "HOSTWATCH_STATE_DIR": str(state),
        "HOSTWATCH_CONFIG": str(state / "absent.toml"),
        "COLUMNS": "400",
    }
    command = [sys.executable, *python_flags, str(HOSTWATCH), *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)


def _cymru(shared_data: Path) -> dict[str, int | None]:
    text = (shared_data / PYASN / "cymru.map").read_text()
    return ast.literal_eval(text[text.index("{") :])


def test_each_file_is_recognised_by_its_content_and_keeps_its_name(imported: Imported) -> None:
    by_name = {e.name: e for e in imported.store.entries()}
    expected = {
        "ipasn-2014": ("ipasn", "pyasn-dat", "routing", "2014-05-13"),
        "asns": ("asnames", "bgp.tools-asns", "bgp.tools", "2026-11-01"),
        "pyasn-names": ("asnames", "pyasn-asnames", "pyasn", "2026-11-01"),
        "delegated": ("delegated", "rir-delegated", "lacnic", "2018-10-12"),  # its version line
        "ranges-v6": ("ranges", "address-ranges", "routing-v6", "2026-11-01"),
    }
    for what, (kind, fmt, series, day) in expected.items():
        entry = by_name[imported.names[what]]
        assert (entry.kind, entry.format, entry.series, entry.snapshot) == (kind, fmt, series, day)
    assert by_name[imported.names["ipasn-2014"]].rows > 500_000
    assert by_name[imported.names["asns"]].rows > 120_000
    assert by_name[imported.names["ipasn-2014"]].binary.endswith(".npz")


def test_data_list_shows_the_imported_names_with_kind_day_and_rows(imported: Imported) -> None:
    listing = _cli(imported.state_dir, "data", "list")
    assert listing.returncode == 0, listing.stderr
    row = next(line for line in listing.stdout.splitlines() if imported.names["asns"] in line)
    assert "asnames" in row and "2026-11-01" in row
    entry = next(e for e in imported.store.entries() if e.name == imported.names["asns"])
    assert f"{entry.rows:,}" in row


def test_lookup_by_the_imported_name_reads_the_binary_form(
    imported: Imported, shared_data: Path, tmp_path: Path
) -> None:
    truth = _cymru(shared_data)
    ips = tmp_path / "ips.txt"
    ips.write_text("\n".join(truth) + "\n")
    name = imported.names["ipasn-2014"]
    done = _cli(imported.state_dir, "lookup", "--table", name, str(ips))
    assert done.returncode == 0, done.stderr
    rows = [line.split(",") for line in done.stdout.splitlines()[1:]]
    text = RoutingTable.load(shared_data / PYASN / "ipasn_20140513.dat.gz").lookup(list(truth))
    assert [r[0] for r in rows] == list(truth)
    assert [r[2] for r in rows] == [str(a) if a >= 0 else "" for a in text.origin_asn.tolist()]
    assert [r[1] for r in rows] == [p or "" for p in text.prefix.tolist()]
    # the file given by its path, once imported, is read in its binary form too
    stored = imported.store.routing_table_path(str(imported.copies["ipasn-2014"]))
    assert stored.suffix == ".npz" and stored.is_relative_to(imported.store.root)


def test_an_unknown_table_name_is_a_clear_error(imported: Imported, tmp_path: Path) -> None:
    ips = tmp_path / "ips.txt"
    ips.write_text("8.8.8.8\n")
    done = _cli(imported.state_dir, "lookup", "--table", "never-imported.gz", str(ips))
    assert done.returncode == 1
    assert "never-imported.gz: no such file, and no routing table was imported" in done.stderr


def test_the_stored_table_is_memory_mapped_and_answers_as_the_text(
    imported: Imported, shared_data: Path
) -> None:
    path = imported.store.routing_table_path(imported.names["ipasn-2014"])
    RoutingTable.load(path)  # the first open may read the file from disk
    start = time.perf_counter()
    stored = RoutingTable.load(path)
    seconds = time.perf_counter() - start
    assert seconds < 0.2, f"second load took {seconds:.3f} s"
    for array in (stored.routes.origin, stored.routes.v4_network, stored.runs24.starts):
        assert not array.flags.owndata and not array.flags.writeable  # views of the mmap
    truth = _cymru(shared_data)
    ips = list(truth)
    assert len(ips) == 1000
    text = RoutingTable.load(shared_data / PYASN / "ipasn_20140513.dat.gz")
    entry = next(e for e in imported.store.entries() if e.name == imported.names["ipasn-2014"])
    assert entry.rows == len(text) == len(stored)
    ours, theirs = stored.lookup(ips), text.lookup(ips)
    assert ours.origin_asn.tolist() == theirs.origin_asn.tolist()
    assert ours.prefix.tolist() == theirs.prefix.tolist()
    agree = sum(
        (a if a >= 0 else None) == truth[ip] for ip, a in zip(ips, ours.origin_asn, strict=True)
    )
    assert agree > 950


def test_ip_location_db_ranges_are_imported_and_looked_up_by_name(
    imported: Imported, tmp_path: Path
) -> None:
    ips = tmp_path / "ips.txt"
    ips.write_text("2001:4860:4860::8888\n2a00:1450:4001:80b::200e\n")
    done = _cli(imported.state_dir, "lookup", "--table", imported.names["ranges-v6"], str(ips))
    assert done.returncode == 0, done.stderr
    assert [line.split(",")[2] for line in done.stdout.splitlines()[1:]] == ["15169", "15169"]


def test_table_warnings_are_one_line_and_listed_with_verbose(
    imported: Imported, tmp_path: Path
) -> None:
    ips = tmp_path / "ips.txt"
    ips.write_text("8.8.8.8\n")
    name = imported.names["ipasn-2014"]
    quiet = _cli(imported.state_dir, "lookup", "--table", name, str(ips))
    assert quiet.returncode == 0
    assert quiet.stderr.splitlines() == [
        f"warning: {name}: 36 warnings (20 origin AS_TRANS 23456, "
        "16 special-purpose space routed); --verbose lists them"
    ]
    loud = _cli(imported.state_dir, "lookup", "--verbose", "--table", name, str(ips))
    assert len([line for line in loud.stderr.splitlines() if "AS_TRANS" in line]) == 20
    assert len(loud.stderr.splitlines()) == 36


def test_a_lookup_process_imports_no_heavy_library(imported: Imported, tmp_path: Path) -> None:
    ips = tmp_path / "ips.txt"
    ips.write_text("8.8.8.8\n")
    name = imported.names["ipasn-2014"]
    done = _cli(
        imported.state_dir, "lookup", "--table", name, str(ips), python_flags=("-X", "importtime")
    )
    assert done.returncode == 0
    loaded = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if "|" in line}
    heavy = {"polars", "pandas", "scipy", "matplotlib", "numba", "sqlalchemy", "duckdb"}
    assert loaded and not heavy & loaded


def test_a_catalogued_table_that_cannot_be_used_is_an_error_naming_it(tmp_path: Path) -> None:
    table = tmp_path / "mine.tsv"
    table.write_text("prefix\torigin_asn\n192.0.2.0/24\t64500\n198.51.100.0/24\t64501\n")
    store = ReferenceStore.under(tmp_path / "state")
    import_reference_files(store, [table], clock=Clock.at(NOW))
    (entry,) = store.entries()
    binary = store.root / entry.binary
    ips = tmp_path / "ips.txt"
    ips.write_text("192.0.2.7\n")
    assert _cli(tmp_path / "state", "lookup", "--table", "mine.tsv", str(ips)).stdout.endswith(
        "192.0.2.7,192.0.2.0/24,64500\n"
    )
    binary.write_bytes(binary.read_bytes()[:1000])  # damaged
    damaged = _cli(tmp_path / "state", "lookup", "--table", "mine.tsv", str(ips))
    assert damaged.returncode == 1 and str(binary) in damaged.stderr
    binary.unlink()
    gone = _cli(tmp_path / "state", "lookup", "--table", "mine.tsv", str(ips))
    assert gone.returncode == 1
    assert f"imported as {binary}, but that file is missing" in gone.stderr


def test_a_catalogued_file_that_is_no_as_list_stops_attribution_naming_it(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from hostwatch.attribution.reference import load_reference_set

    wrong = tmp_path / "names.csv"
    wrong.write_text("just,some,text\n1,2,3\n")
    ref = SnapshotRef(7, "asnames", "bgp.tools", "names.csv", str(wrong), datetime.now(UTC))
    with pytest.raises(UnusableReferenceError, match=r"asnames:7 \(names\.csv, .*names\.csv\)"):
        load_reference_set((ref,))


def test_files_that_cannot_be_used_are_refused_with_the_reason(
    shared_data: Path, tmp_path: Path
) -> None:
    store = ReferenceStore.under(tmp_path / "state")
    empty = tmp_path / "routes.tsv"
    empty.write_text("prefix\torigin_asn\n10.0.0.0/8\t0\n")
    psl = (
        shared_data / "09_public-suffix-list/public_suffix_list_publicsuffixlist-1.1.2.20261023.dat"
    )
    tags = _random_copy(shared_data / BGPTOOLS / "tags/tags-vpsh.csv", tmp_path)
    outcomes = import_reference_files(store, [empty, psl, tags], clock=Clock.at(NOW))
    assert [o.status for o in outcomes] == ["failed"] * 3
    assert "cannot be used" in outcomes[0].message and "no usable routes" in outcomes[0].message
    assert "Public Suffix List" in outcomes[1].message
    assert "tag list without its tag" in outcomes[2].message
    (tagged,) = import_reference_files(store, [tags], tag="vpsh", clock=Clock.at(NOW))
    assert tagged.status == "imported"
    (entry,) = store.entries("tags")
    assert entry.series == "tags:vpsh" and entry.rows > 1000
    assert store.entries() == [entry]


def test_a_gzip_cut_short_is_refused(shared_data: Path, tmp_path: Path) -> None:
    whole = (shared_data / BGPTOOLS / "asns.csv.gz").read_bytes()
    cut = tmp_path / "names.gz"
    cut.write_bytes(whole[: len(whole) // 2])
    store = ReferenceStore.under(tmp_path / "state")
    (outcome,) = import_reference_files(store, [cut], clock=Clock.at(NOW))
    assert outcome.failed and store.entries() == []


def test_every_format_lookup_reads_can_be_imported(shared_data: Path, tmp_path: Path) -> None:
    """pyasn .dat, CAIDA pfx2as, prefix<TAB>asn, ranges and MRT above; here the rest, renamed."""
    folder = tmp_path / "incoming"
    folder.mkdir()
    mrt = _random_copy(shared_data / PYASN / "bview.20140112.1600_3samples.bz2", folder)
    pfx2as = folder / "caida"
    pfx2as.write_bytes(gzip.compress(b"1.0.0.0\t24\t13335\n8.8.8.0\t24\t15169_36040\n"))
    stored = RoutingTable.from_pairs(["192.0.2.0/24"], [64500]).save(tmp_path / "kept.npz")
    kept = _random_copy(stored, folder)
    store = ReferenceStore.under(tmp_path / "state")
    outcomes = import_reference_files(store, [mrt, pfx2as, kept], clock=Clock.at(NOW))
    assert [(o.status, o.kind) for o in outcomes] == [
        ("imported", "rib"),
        ("imported", "pfx2as"),
        ("imported", "prefix-table"),
    ], outcomes
    for given, address in ((mrt, "1.0.20.9"), (pfx2as, "8.8.8.8"), (kept, "192.0.2.1")):
        direct = RoutingTable.load(given).lookup([address])
        via_store = RoutingTable.load(store.routing_table_path(given.name)).lookup([address])
        assert via_store.origin_asn.tolist() == direct.origin_asn.tolist()
        assert via_store.prefix.tolist() == direct.prefix.tolist()


def test_one_name_imported_on_two_days_answers_with_the_newest(tmp_path: Path) -> None:
    store = ReferenceStore.under(tmp_path / "state")
    for day, asn in (("2024-01-01", 64500), ("2024-02-01", 64501)):
        folder = tmp_path / day
        folder.mkdir()
        (folder / "routes.tsv").write_text(f"prefix\torigin_asn\n192.0.2.0/24\t{asn}\n")
        (outcome,) = import_reference_files(store, [folder / "routes.tsv"], clock=Clock.at(NOW))
        assert outcome.status == "imported"
    assert [e.snapshot for e in store.entries()] == ["2024-01-01", "2024-02-01"]
    newest = RoutingTable.load(store.routing_table_path("routes.tsv"))
    assert newest.lookup(["192.0.2.1"]).origin_asn.tolist() == [64501]
    older = next(e for e in store.entries() if e.snapshot == "2024-01-01")
    by_file = RoutingTable.load(store.routing_table_path(older.binary.rsplit("/", 1)[-1]))
    assert by_file.lookup(["192.0.2.1"]).origin_asn.tolist() == [64500]
