"""Attribution end to end on real tables (02, 08), a real DNS server and both databases."""

from __future__ import annotations

import ast
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from hostwatch.attribution.batch import attribute_pending
from hostwatch.attribution.record import latest_for_notices
from hostwatch.model import Observation, Provider
from hostwatch.model.db import session_scope
from hostwatch.net.routing import RoutingTable
from hostwatch.settings import Settings

EDGE_V4 = "1.0.4.5"
CLOUDFLARE_V4 = "1.1.1.1"
JULY_2026 = datetime(2026, 7, 1, 12, tzinfo=UTC)
MAY_2014 = datetime(2014, 5, 20, 12, tzinfo=UTC)


def _with_resolver(settings: Settings, address: str) -> Settings:
    """The test resolver, and the clock at the notices' intake (July 2026): resolving is then
    contemporaneous; a host resolved months after its notice would not be."""
    return settings.model_copy(update={"resolver": address, "now": JULY_2026})


def _latest(settings: Settings, ids: list[int]) -> list:
    with session_scope(settings.database_url) as session:
        found = latest_for_notices(session, ids)
        return [found[i] for i in ids]


def test_host_resolved_through_cnames_to_a_and_aaaa(
    settings, dns_server, table_2026, names_2026, catalogue, add_notices
) -> None:
    ids = catalogue(routing=[table_2026], asnames=names_2026)
    notice_ids = add_notices([("http://www.shop.test/a.html", JULY_2026, None)])
    summary = attribute_pending(_with_resolver(settings, dns_server.address), progress=False)
    assert summary.by_status == {"ok": 1}
    (row,) = _latest(settings, notice_ids)
    assert set(row.ips) == {dns_server.edge_v4, dns_server.edge_v6}
    assert row.ip == EDGE_V4  # IPv4 preferred for the attributed address
    table = RoutingTable.load(table_2026)
    expected = table.lookup([EDGE_V4])
    assert row.prefix == expected.prefix[0]
    assert row.origin_asn == int(expected.origin_asn[0])
    assert row.as_name  # named by bgp.tools / AS-Prefix
    assert row.provider_id is not None
    assert row.sources["ips"] == f"dns:{dns_server.address}"
    assert row.sources["prefix"] == f"routing:{ids[str(table_2026)]}"
    with session_scope(settings.database_url) as session:
        observation = session.scalar(select(Observation).where(Observation.host == "www.shop.test"))
    assert observation.kind == "dns"
    assert observation.data["cname_chain"] == ["middle.shop.test", "edge.hoster.test"]


def test_each_notice_gets_the_table_of_its_time_and_says_so(
    settings, shared_data: Path, table_2014, table_2026, catalogue, add_notices
) -> None:
    ids = catalogue(routing=[table_2014, table_2026])
    cymru = ast.literal_eval(
        (shared_data / "02_pyasn-routeviews-ipasn/cymru.map").read_text().split("\n", 1)[1]
    )
    routed = [(ip, asn) for ip, asn in cymru.items() if asn][:200]
    old = add_notices([(f"http://{ip}/x", MAY_2014, None) for ip, _ in routed])
    new = add_notices([(f"http://{ip}/x", JULY_2026, None) for ip, _ in routed])
    attribute_pending(settings, progress=False)
    old_rows, new_rows = _latest(settings, old), _latest(settings, new)
    assert {r.sources["prefix"] for r in old_rows if r.prefix} == {
        f"routing:{ids[str(table_2014)]}"
    }
    assert {r.sources["prefix"] for r in new_rows if r.prefix} == {
        f"routing:{ids[str(table_2026)]}"
    }
    # the 2014 answers are the 2014 table's, and agree with Team Cymru as that table does
    table = RoutingTable.load(table_2014)
    direct = table.lookup([ip for ip, _ in routed]).origin_asn.tolist()
    assert [r.origin_asn or -1 for r in old_rows] == direct
    agree = sum(r.origin_asn == asn for r, (_, asn) in zip(old_rows, routed, strict=True))
    assert agree == sum(a == asn for a, (_, asn) in zip(direct, routed, strict=True))
    assert agree >= 0.9 * len(routed)
    # routes moved in twelve years: some origins differ between the two attributions
    assert any(a.origin_asn != b.origin_asn for a, b in zip(old_rows, new_rows, strict=True))


def test_notice_older_than_every_snapshot_is_flagged(
    settings, table_2026, catalogue, add_notices
) -> None:
    ids = catalogue(routing=[table_2026])
    (nid,) = add_notices([(f"http://{EDGE_V4}/", MAY_2014, None)])
    attribute_pending(settings, progress=False)
    (row,) = _latest(settings, [nid])
    assert row.status == "ok"
    assert row.sources["newer_than_notice"] == [f"routing:{ids[str(table_2026)]}"]


def test_cloudflare_space_is_behind_a_cdn(
    settings, dns_server, table_2026, names_2026, catalogue, add_notices
) -> None:
    catalogue(routing=[table_2026], asnames=names_2026)
    direct, by_cname = add_notices(
        [(f"http://{CLOUDFLARE_V4}/", JULY_2026, None), ("http://cdn.shop.test/", JULY_2026, None)]
    )
    attribute_pending(_with_resolver(settings, dns_server.address), progress=False)
    rows = _latest(settings, [direct, by_cname])
    for row in rows:
        assert row.origin_asn == 13335
        assert row.behind_cdn is True
        assert row.shared_platform is None
    assert "tag cdn" in rows[0].sources["behind_cdn"]
    with session_scope(settings.database_url) as session:
        provider = session.get(Provider, rows[0].provider_id)
    assert provider.is_cdn and provider.kind == "cdn"


def test_shared_platform_names_the_platform_not_the_network(
    settings, dns_server, table_2026, names_2026, catalogue, add_notices
) -> None:
    catalogue(routing=[table_2026], asnames=names_2026)
    page, by_cname = add_notices(
        [
            ("http://someone.github.io/phish/", JULY_2026, None),
            ("http://pages.shop.test/", JULY_2026, None),
        ]
    )
    attribute_pending(_with_resolver(settings, dns_server.address), progress=False)
    for row in _latest(settings, [page, by_cname]):
        assert row.ip == dns_server.github_pages_v4
        assert row.shared_platform == "github.io"
        assert row.origin_asn == 54113  # the network (Fastly) is still recorded
        with session_scope(settings.database_url) as session:
            provider = session.get(Provider, row.provider_id)
        assert provider.name == "GitHub Pages" and provider.is_shared_platform
        assert row.sources["provider"] == "auto-domain:github.io"
