"""Stored snapshots reload identically; the catalogue picks the newest snapshot not after t."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from hostwatch.net.routing import RoutingTable, SnapshotCatalog, date_from_name


def test_dates_are_read_from_the_names_in_use() -> None:
    assert date_from_name("ipasn_20140513.dat.gz") == datetime(2014, 5, 13, tzinfo=UTC)
    assert date_from_name("rib.20080501.0644.bz2") == datetime(2008, 5, 1, 6, 44, tzinfo=UTC)
    assert date_from_name("routeviews-rv2-20240101-1200.pfx2as.gz") == datetime(
        2024, 1, 1, 12, 0, tzinfo=UTC
    )
    assert date_from_name("asn/v2.3.2026061719/asn-ipv4.csv.gz") == datetime(
        2026, 6, 17, 19, tzinfo=UTC
    )
    assert date_from_name("as-prefix_2026-06-19/asprefix_pfx2as.tsv.gz") == datetime(
        2026, 6, 19, tzinfo=UTC
    )
    assert date_from_name("table.tsv") is None


def test_store_round_trip_keeps_answers_and_provenance(tmp_path: Path) -> None:
    source = tmp_path / "ipasn_20200102.dat"
    source.write_text(
        "10.0.0.0/8\t100\n10.1.2.3/32\t101\n192.0.2.0/24\t7\n192.0.2.0/24\t8\n"
        "2001:db8::/32\t600\n2001:db8::1/128\t601\n10.0.0.0/8\tx\n"
    )
    table = RoutingTable.load(source)
    stored = RoutingTable.load(table.save(tmp_path / "snap.npz"))
    probes = ["10.9.9.9", "10.1.2.3", "192.0.2.1", "2001:db8::1", "2001:db8::2", "8.8.8.8"]
    before, after = table.lookup(probes), stored.lookup(probes)
    assert after.origin_asn.tolist() == before.origin_asn.tolist() == [100, 101, 7, 601, 600, -1]
    assert after.prefix.tolist() == before.prefix.tolist()
    assert after.origins == before.origins
    assert (stored.source, stored.sha256, stored.snapshot_date, stored.format) == (
        table.source,
        table.sha256,
        table.snapshot_date,
        table.format,
    )
    assert stored.warnings == table.warnings and stored.warnings[0].line == 7


def _pair_file(folder: Path, name: str, asn: int) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"10.0.0.0/8\t{asn}\n")
    return path


def test_catalogue_picks_the_newest_snapshot_not_after_t(tmp_path: Path) -> None:
    _pair_file(tmp_path, "ipasn_20200101.dat", 1)
    _pair_file(tmp_path, "ipasn_20200301.dat", 3)
    _pair_file(tmp_path, "README.md", 9)
    _pair_file(tmp_path, "undated.tsv", 9)
    catalog = SnapshotCatalog(tmp_path, dates={tmp_path / "undated.tsv": "2020-02-01"})
    assert len(catalog) == 3
    picks = {
        t: catalog.select(t).table.lookup(["10.0.0.1"]).origin_asn[0]
        for t in ["2020-01-01T00:00:00Z", "2020-02-15", "2020-03-01T00:00:00+00:00", "2024-01-01"]
    }
    assert picks == {
        "2020-01-01T00:00:00Z": 1,
        "2020-02-15": 9,
        "2020-03-01T00:00:00+00:00": 3,
        "2024-01-01": 3,
    }
    chosen = catalog.select(datetime(2020, 2, 20, tzinfo=UTC))
    assert chosen.snapshot.paths == (tmp_path / "undated.tsv",)
    assert chosen.table.snapshot_date == datetime(2020, 2, 1, tzinfo=UTC)
    assert chosen.age_days == 19
    with pytest.raises(LookupError, match="no routing snapshot at or before 2019"):
        catalog.select("2019-12-31")


def test_files_of_one_date_form_one_table(tmp_path: Path) -> None:
    v4 = tmp_path / "v2.3.2026061719" / "asn-ipv4.csv"
    v4.parent.mkdir()
    v4.write_text("1.0.0.0,1.0.0.255,13335,Cloudflare\n")
    (v4.parent / "asn-ipv6.csv").write_text("2001:db8::,2001:db8::ffff,64501,v6\n")
    (v4.parent / "LICENSE").write_text("CC BY 4.0\n")
    catalog = SnapshotCatalog(tmp_path)
    selection = catalog.select("2026-07-01")
    assert len(selection.snapshot.paths) == 2
    result = selection.table.lookup(["1.0.0.1", "2001:db8::1"])
    assert result.origin_asn.tolist() == [13335, 64501]


def test_stored_snapshots_are_catalogued_by_their_recorded_date(tmp_path: Path) -> None:
    source = _pair_file(tmp_path / "src", "ipasn_20210505.dat", 5)
    RoutingTable.load(source).save(tmp_path / "store" / "latest.npz")
    catalog = SnapshotCatalog(tmp_path / "store")
    chosen = catalog.select("2021-06-01")
    assert chosen.snapshot.date == datetime(2021, 5, 5, tzinfo=UTC)
    assert chosen.table.lookup(["10.0.0.1"]).origin_asn.tolist() == [5]
