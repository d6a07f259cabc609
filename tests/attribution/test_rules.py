"""The small rule tables: platforms, special-purpose space, snapshot choice, manual prefixes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from hostwatch.attribution.platforms import cdn_by_name, shared_platform
from hostwatch.attribution.prefix_index import PrefixIndex
from hostwatch.attribution.reference import ReferenceCatalog, SnapshotRef
from hostwatch.attribution.special_space import special_reasons
from hostwatch.net.addresses import parse_addresses


@pytest.mark.parametrize(
    ("host", "cnames", "expected"),
    [
        ("someone.github.io", (), "github.io"),
        ("github.io", (), "github.io"),
        ("www.shop.example", ("shop.netlify.app",), "netlify.app"),
        ("bafy.ipfs.dweb.link", (), "dweb.link"),
        ("notgithub.io", (), None),
        ("github.io.evil.example", (), None),
        ("1.2.3.4", (), None),
    ],
)
def test_shared_platforms_match_whole_label_suffixes(host, cnames, expected) -> None:  # type: ignore[no-untyped-def]
    found = shared_platform(host, cnames)
    assert (found.domain if found else None) == expected


def test_cdn_recognised_by_cname() -> None:
    assert cdn_by_name("www.shop.example", ["d111.cloudfront.net"]).name == "Amazon CloudFront"
    assert cdn_by_name("www.shop.example", []) is None


def test_special_space_reasons() -> None:
    texts = ["10.1.2.3", "100.64.0.1", "8.8.8.8", "::1", "fe80::1", "2001:db8::5", "2a00::1",
             "::ffff:1.2.3.4", "240.0.0.1", "3fff::1", "4000::1"]  # fmt: skip
    reasons = dict(zip(texts, special_reasons(parse_addresses(texts)).tolist(), strict=True))
    assert reasons["8.8.8.8"] == "" and reasons["2a00::1"] == "" and reasons["3fff::1"] == ""
    assert "private" in reasons["10.1.2.3"] and "carrier-grade" in reasons["100.64.0.1"]
    assert "loopback" in reasons["::1"] and "link-local" in reasons["fe80::1"]
    assert "documentation" in reasons["2001:db8::5"] and "IPv4-mapped" in reasons["::ffff:1.2.3.4"]
    assert "reserved" in reasons["240.0.0.1"] and "global unicast" in reasons["4000::1"]


def _ref(id_: int, kind: str, day: str, series: str | None = None) -> SnapshotRef:
    when = datetime.fromisoformat(day).replace(tzinfo=UTC)
    return SnapshotRef(id_, kind, series or kind, f"{kind}-{day}", f"/x/{id_}", when)


def test_newest_snapshot_not_after_the_time_per_series() -> None:
    catalog = ReferenceCatalog(
        (
            _ref(1, "routing", "2014-05-13"),
            _ref(2, "routing", "2026-06-19"),
            _ref(3, "delegated", "2018-10-13", "ripencc"),
            _ref(4, "delegated", "2018-10-13", "arin"),
            _ref(5, "delegated", "2023-03-23", "arin"),
        )
    )

    def ids(at: str) -> list[int]:
        when = datetime.fromisoformat(at).replace(tzinfo=UTC)
        return sorted(r.id for r in catalog.choose(when))

    assert ids("2015-01-01") == [1, 3, 4]
    assert ids("2026-07-01") == [2, 3, 5]
    assert ids("2000-01-01") == [1, 3, 4]  # older than everything: the oldest, flagged later
    times = [datetime(2015, 1, 1, tzinfo=UTC), datetime(2026, 7, 1, tzinfo=UTC)]
    assert [sorted(r.id for r in c) for c in catalog.choose_many(times)] == [[1, 3, 4], [2, 3, 5]]


def test_prefix_index_longest_match_and_bad_entries() -> None:
    networks = [
        "45.10.0.0/16",
        "45.10.16.0/20",
        "2a00:1450::/32",
        "2a00:1450:4001::/48",
        "nonsense",
    ]
    index = PrefixIndex((net, i) for i, net in enumerate(networks))
    probes = ["45.10.17.1", "45.10.1.1", "45.11.0.1", "2a00:1450:4001::1", "2a00:1450:9::1", "junk"]
    found = index.match(parse_addresses(probes))
    assert found.tolist() == [1, 0, -1, 3, 2, -1]
    assert index.bad and index.bad[0][0] == "nonsense"
