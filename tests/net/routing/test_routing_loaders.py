"""Every supported format loads, is detected from its content, and bad rows are named, not fatal."""

from __future__ import annotations

import bz2
import gzip
from datetime import UTC, datetime
from pathlib import Path

import pytest
from routing_mrt_bytes import as_path, td1_rib, td2_peer_index, td2_rib

from hostwatch.net.routing import NO_ASN, RoutingTable
from hostwatch.net.routing.loaders import UnknownFormatError


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _reasons(table: RoutingTable) -> list[tuple[int, str]]:
    return [(w.line, w.reason) for w in table.warnings]


def test_pyasn_dat_with_header(tmp_path: Path) -> None:
    path = tmp_path / "ipasn_20140513.dat.gz"
    with gzip.open(path, "wt") as handle:
        handle.write("; IP-ASN32-DAT file\n; Original file : rib.20140513.0600.bz2\n")
        handle.write("1.0.0.0/24\t15169\n2001:db8::/32\t64511\n")
    table = RoutingTable.load(path)
    assert table.format == "pyasn-dat"
    assert table.snapshot_date == datetime(2014, 5, 13, tzinfo=UTC)
    assert len(table.sha256) == 64
    assert table.lookup(["1.0.0.7", "2001:db8::1"]).origin_asn.tolist() == [15169, 64511]


def test_caida_pfx2as_moas_and_as_sets(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "routeviews-rv2-20240101-1200.pfx2as",
        "1.0.0.0\t24\t13335\n1.0.4.0\t22\t38803_4826\n1.0.8.0\t24\t7,8\n",
    )
    table = RoutingTable.load(path)
    assert table.format == "caida-pfx2as"
    assert table.snapshot_date == datetime(2024, 1, 1, 12, 0, tzinfo=UTC)
    result = table.lookup(["1.0.0.1", "1.0.5.1", "1.0.8.1"])
    assert result.origin_asn.tolist() == [13335, 38803, 7]
    assert result.origins == [(13335,), (38803, 4826), (7, 8)]


def test_ranges_become_exact_cidr_blocks(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "asn-ipv4.csv",
        '1.0.0.0,1.0.0.255,13335,"Cloudflare, Inc."\n'
        "1.0.4.0,1.0.7.255,38803,Gtelecom\n"
        "10.0.0.1,10.0.0.6,64500,odd\n"
        "1.0.6.0,1.0.6.255,99,overlapping\n"
        "2001:db8::,2001:db8::ffff,64501,v6\n",
    )
    table = RoutingTable.load(path)
    assert table.format == "address-ranges"
    result = table.lookup(
        ["1.0.5.5", "10.0.0.0", "10.0.0.1", "10.0.0.6", "10.0.0.7", "2001:db8::9"]
    )
    assert result.origin_asn.tolist() == [38803, NO_ASN, 64500, 64500, NO_ASN, 64501]
    assert result.prefix.tolist()[1:4] == [None, "10.0.0.1/32", "10.0.0.6/32"]
    assert (4, "range overlaps the range at line 2; skipped") in _reasons(table)


def test_tsv_with_header_and_every_kind_of_bad_row(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "table.tsv",
        "prefix\torigin_asn\n"  # 1 header
        "1.0.0.0/24\t13335\n"  # 2
        "1.0.0.0/24\t13335\n"  # 3 duplicate
        "1.0.0.0/24\t4826\n"  # 4 MOAS
        "1.2.3.4/16\t64496\n"  # 5 host bits
        "0.0.0.0/0\t3356\n"  # 6 default route
        "1.2.3.0/33\t1\n"  # 7 bad length
        "300.0.0.0/8\t1\n"  # 8 bad address
        "9.9.9.0/24\tAS-FOO\n"  # 9 bad asn
        "9.9.8.0/24\t0\n"  # 10 asn 0
        "just-one-field\n"  # 11
        "8.8.8.0/24\t23456\n"  # 12 AS_TRANS
        "4.0.0.0/9\tAS3356\n",  # 13
    )
    table = RoutingTable.load(path)
    reasons = dict(_reasons(table))
    assert "duplicate row" in reasons[3] and "line 2" in reasons[3]
    assert reasons[5] == "host bits set in 1.2.3.4/16, normalised to 1.2.0.0/16"
    assert "default route /0 skipped" in reasons[6]
    assert "malformed prefix length" in reasons[7]
    assert "malformed prefix address '300.0.0.0'" in reasons[8]
    assert "not a number" in reasons[9]
    assert "invalid origin AS" in reasons[10]
    assert "expected 'prefix<TAB>asn'" in reasons[11]
    assert "AS_TRANS" in reasons[12]
    assert all(w.file == str(path) for w in table.warnings)
    result = table.lookup(["1.0.0.1", "1.2.200.1", "8.8.8.8", "4.1.1.1", "200.0.0.1"])
    assert result.origin_asn.tolist() == [13335, 64496, 23456, 3356, NO_ASN]
    assert result.origins[0] == (13335, 4826)
    assert len(table) == 4


def test_unknown_content_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UnknownFormatError):
        RoutingTable.load(_write(tmp_path / "notes.txt", "hello\nworld\n"))


def test_mrt_table_dump_v2_origins_follow_pyasn(tmp_path: Path) -> None:
    records = [
        td2_peer_index(),
        td2_rib("192.0.2.0/24", [as_path((2, [3356, 64512])), as_path((2, [174, 13335]))]),
        td2_rib("198.51.100.0/24", [as_path((2, [3356]), (1, [7, 8, 9]))]),
        td2_rib("203.0.113.0/24", [as_path((2, [3356, 4200000001]))]),
        td2_rib("2001:db8::/32", [as_path((2, [6939, 401308]))]),
        td2_rib("0.0.0.0/0", [as_path((2, [3356]))]),
    ]
    path = tmp_path / "rib.20240301.0800.bz2"
    path.write_bytes(bz2.compress(b"".join(records)))
    table = RoutingTable.load(path)
    assert table.format == "mrt"
    assert table.snapshot_date == datetime(2024, 3, 1, 8, 0, tzinfo=UTC)
    result = table.lookup(["192.0.2.1", "198.51.100.1", "203.0.113.1", "2001:db8::1"])
    # private 64512 skipped -> 3356; MOAS from the second peer; AS_SET members all kept
    assert result.origin_asn.tolist() == [3356, next(iter({7, 8, 9})), 3356, 401308]
    assert result.origins[0] == (3356, 13335)
    assert set(result.origins[1]) == {7, 8, 9}
    assert any("default route" in w.reason for w in table.warnings)


def test_mrt_table_dump_v1_and_a_truncated_tail(tmp_path: Path) -> None:
    records = [
        td1_rib("10.0.0.0/8", as_path((2, [701, 1239]), asn_size=2)),
        td1_rib("10.0.0.0/8", as_path((2, [3356, 23456]), asn_size=2)),
        td1_rib("172.16.0.0/12", as_path((2, [701, 7018]), asn_size=2)),
    ]
    blob = b"".join(records)
    path = tmp_path / "rib.20080501.0644.gz"
    path.write_bytes(gzip.compress(blob[:-5])[:-8])
    table = RoutingTable.load(path)
    reasons = [w.reason for w in table.warnings]
    assert any("truncated" in r for r in reasons)
    assert any("file ends inside MRT record 3" in r for r in reasons)
    result = table.lookup(["10.1.1.1", "172.16.0.1"])
    assert result.origin_asn.tolist() == [1239, NO_ASN]
    assert result.origins[0] == (1239, 23456)


def test_real_truncated_ribs_match_pyasn(shared_data: Path) -> None:
    from pyasn import mrtx

    folder = shared_data / "02_pyasn-routeviews-ipasn"
    for name in ["rib.20080501.0644_firstMB.bz2", "rib6.20151101.0600_firstMB.bz2"]:
        expected: dict[str, int] = {}
        archive = mrtx.open_archive(str(folder / name))
        with pytest.raises(EOFError):
            while record := mrtx.MrtRecord.next_dump_table_record(archive):
                if record.detail and record.prefix and record.prefix not in expected:
                    if record.type == 13 and record.sub_type == 1:
                        continue
                    origin = record.get_first_origin_as()
                    expected[record.prefix] = (
                        next(iter(origin)) if isinstance(origin, set) else origin
                    )
        for default in ("0.0.0.0/0", "::/0"):
            expected.pop(default, None)
        table = RoutingTable.load(folder / name)
        texts = table.routes.prefix_texts(range(len(table)))
        ours = dict(zip(texts, table.routes.origin.tolist(), strict=True))
        assert ours == expected
        assert any("truncated" in w.reason for w in table.warnings)


def test_private_space_is_kept_but_reported(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "table.tsv",
        "10.1.2.3/32\t64500\n8.8.8.0/24\t15169\nfd00::/8\t64501\n2001:db8:1::/48\t64502\n",
    )
    table = RoutingTable.load(path)
    flagged = sorted(w.line for w in table.warnings if "private/reserved" in w.reason)
    assert flagged == [1, 3, 4]
    assert table.lookup(["10.1.2.3"]).origin_asn.tolist() == [64500]
