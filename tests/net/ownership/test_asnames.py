"""AS names, classes and tags from the real lists in data/02 and data/08."""

from __future__ import annotations

import gzip

import pytest

from hostwatch.net.asnames import CDN_TAG, HOSTING_TAG, AsRegistry

BGPTOOLS = "08_asn-names-classes-prefixes-2026/bgp.tools-opendb_2026-05-31"


@pytest.fixture(scope="module")
def registry(shared_data) -> AsRegistry:
    return AsRegistry.load(
        [
            shared_data / BGPTOOLS,
            shared_data / "02_pyasn-routeviews-ipasn" / "asnames.json.gz",
            shared_data
            / "08_asn-names-classes-prefixes-2026/as-prefix_2026-06-19/asprefix_asnames.tsv.gz",
        ]
    )


def test_every_list_is_read_in_full(registry):
    assert len(registry.bgptools) == 120_793
    assert len(registry.pyasn) == 77_586
    assert len(registry.asprefix) == 85_946
    assert len(registry.with_tag(CDN_TAG)) == 110
    assert len(registry.with_tag(HOSTING_TAG)) == 2_167


def test_cloudflare_is_a_cdn_with_its_name_class_and_country(registry):
    info = registry[13335]
    assert info.is_cdn
    assert {"cdn", "anycast"} <= info.tags
    assert info.name == "Cloudflare, Inc."
    assert info.name_source == "bgp.tools"
    assert (info.as_class, info.country) == ("Content", "US")
    assert info.handle == "CLOUDFLARENET"  # from pyasn's older list
    assert not info.is_hosting


def test_hosting_tag_marks_server_hosters(registry):
    hetzner = registry[24940]
    assert hetzner.is_hosting
    assert hetzner.country == "DE"


def test_older_list_fills_gaps_with_handle_and_country(registry):
    gaps = set(registry.pyasn) - set(registry.bgptools) - set(registry.asprefix)
    asn = min(gaps)
    info = registry[asn]
    assert info.name_source == "pyasn"
    assert info.name == registry.pyasn[asn].name
    assert info.country == registry.pyasn[asn].country


def test_unknown_asn_and_names_in_bulk(registry):
    assert registry.get(4_199_999_999) is None
    assert 4_199_999_999 not in registry
    assert registry.names([13335, 0, 13335, 4_199_999_999]) == [
        "Cloudflare, Inc.",
        None,
        "Cloudflare, Inc.",
        None,
    ]


def test_broken_upstream_tag_file_is_reported_by_line(registry):
    # tags-feeder.csv upstream is an HTML page, not a list: every line is refused, with its line.
    feeder = [w for w in registry.warnings if w.file.endswith("tags-feeder.csv")]
    assert feeder and feeder[0].line == 1
    assert "not an AS number" in feeder[0].reason
    assert not any(w.file.endswith("asns.csv.gz") for w in registry.warnings)


def test_bad_rows_skipped_rest_loaded(tmp_path):
    asns = tmp_path / "asns.csv.gz"
    asns.write_bytes(
        gzip.compress(
            b'asn,name,class,cc\nAS1,"Level 3, Inc.",Carrier,US\nASX,bad,Unknown,US\n'
            b"AS2,short\nAS3,Three,Eyeball,\n"
        )
    )
    tags = tmp_path / "tags-cdn.csv"
    tags.write_text('AS1,"""Level 3", Inc."\nnonsense\n\nAS3,Three\n')
    registry = AsRegistry.load([asns, tags])
    assert registry[1].name == "Level 3, Inc."
    assert registry[3].country is None
    assert registry.with_tag("cdn") == {1, 3}
    where = [(w.file.rsplit("/", 1)[-1], w.line) for w in registry.warnings]
    assert where == [
        ("asns.csv.gz", 3),
        ("asns.csv.gz", 4),
        ("tags-cdn.csv", 2),
    ]


def test_a_file_that_is_no_as_list_is_an_error_naming_it(tmp_path):
    other = tmp_path / "unknown-list.txt"
    other.write_text("this is not a list of ASes\n")
    with pytest.raises(ValueError, match=r"unknown-list\.txt: not an AS list"):
        AsRegistry.load([other])


def test_pyasn_names_split_into_handle_org_and_country(tmp_path):
    path = tmp_path / "asnames.json"
    path.write_text(
        '{"3": "MIT-GATEWAYS - Massachusetts Institute of Technology, US",'
        ' "50088": "FITL-IE Fort Technologies, GB", "7": "plain name", "x": "bad"}'
    )
    registry = AsRegistry.load([path])
    assert (registry[3].handle, registry[3].name, registry[3].country) == (
        "MIT-GATEWAYS",
        "Massachusetts Institute of Technology",
        "US",
    )
    assert (registry[50088].handle, registry[50088].name) == ("FITL-IE", "Fort Technologies")
    assert (registry[7].handle, registry[7].name) == (None, "plain name")
    assert len(registry.warnings) == 1
