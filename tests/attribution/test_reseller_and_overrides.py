"""WHOIS chains with a reseller, manual overrides, bad input and recomputation (own small data)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from hostwatch.attribution.assets import AssetRules
from hostwatch.attribution.batch import attribute_pending
from hostwatch.attribution.providers import add_provider, link_asset
from hostwatch.attribution.record import latest_for_notices
from hostwatch.model import Attribution, Contact, Provider
from hostwatch.model.db import session_scope

WHEN = datetime(2026, 7, 1, 12, tzinfo=UTC)
NOW = datetime(2026, 11, 23, tzinfo=UTC)

RPSL = """\
inetnum:        45.10.0.0 - 45.10.255.255
netname:        DC-NET
status:         ALLOCATED PA
country:        NL
org:            ORG-DC1-TEST
admin-c:        DC1-TEST
source:         TEST

inetnum:        45.10.16.0 - 45.10.31.255
netname:        RESELLER-NET
status:         SUB-ALLOCATED PA
country:        DE
org:            ORG-RS1-TEST
abuse-c:        RSAB-TEST
source:         TEST

inetnum:        45.10.20.0 - 45.10.20.255
netname:        CUSTOMER-NET
status:         ASSIGNED PA
country:        DE
org:            ORG-CU1-TEST
source:         TEST

organisation:   ORG-DC1-TEST
org-name:       Datacentre B.V.
abuse-c:        DCAB-TEST
source:         TEST

organisation:   ORG-RS1-TEST
org-name:       Reseller GmbH
source:         TEST

organisation:   ORG-CU1-TEST
org-name:       Customer Shop
source:         TEST

role:           Datacentre abuse desk
nic-hdl:        DCAB-TEST
abuse-mailbox:  abuse@datacentre.example
source:         TEST

role:           Reseller abuse desk
nic-hdl:        RSAB-TEST
abuse-mailbox:  abuse@reseller.example
source:         TEST

aut-num:        AS64496
as-name:        DATACENTRE-AS
org:            ORG-DC1-TEST
source:         TEST

inetnum:        this is not a range
netname:        BROKEN
source:         TEST
"""


@pytest.fixture
def small_world(tmp_path: Path, catalogue) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """A routing table, AS names and a WHOIS dump written by hand, dated 2026-06-01."""
    folder = tmp_path / "world_2026-06-01"
    folder.mkdir()
    table = folder / "routes.tsv"
    table.write_text("prefix\torigin_asn\n45.10.0.0/16\t64496\n198.35.26.0/24\t64497\n")
    names = folder / "asnames.tsv"
    names.write_text("asn\tas_name\n64497\tOTHER-AS\n")  # AS64496 only in WHOIS
    rpsl = folder / "test.db.rpsl"
    rpsl.write_text(RPSL)
    ids = catalogue(routing=[table], asnames=[names], rpsl=[rpsl])
    return {"routing": ids[str(table)], "rpsl": ids[str(rpsl)], "asnames": ids[str(names)]}


def _latest(settings, ids):  # type: ignore[no-untyped-def]
    with session_scope(settings.database_url) as session:
        found = latest_for_notices(session, ids)
        return [found[i] for i in ids]


def _provider(settings, provider_id):  # type: ignore[no-untyped-def]
    with session_scope(settings.database_url) as session:
        return session.get(Provider, provider_id)


def test_reseller_under_the_datacentre_with_inherited_abuse_contact(
    settings, small_world, add_notices
) -> None:
    customer, reseller_only, datacentre = add_notices(
        [
            ("http://45.10.20.7/kit/", WHEN, None),  # customer /24 inside the reseller /20
            ("http://45.10.17.1/", WHEN, None),  # reseller /20, no customer object
            ("http://45.10.200.1/", WHEN, None),  # datacentre space, no reseller
        ]
    )
    summary = attribute_pending(settings, progress=False)
    assert summary.by_status == {"ok": 3}
    a, b, c = _latest(settings, [customer, reseller_only, datacentre])
    assert a.origin_asn == 64496 and a.prefix == "45.10.0.0/16"
    assert [link["netname"] for link in a.whois_chain] == ["CUSTOMER-NET", "RESELLER-NET", "DC-NET"]
    assert a.reseller == "Reseller GmbH (ORG-RS1-TEST)"
    assert a.abuse_contact == "abuse@reseller.example"  # the /24 inherits from the /20
    assert "inherited from 45.10.16.0 - 45.10.31.255" in a.sources["abuse_contact"]
    assert a.country == "DE"
    provider = _provider(settings, a.provider_id)
    assert provider.name == "Datacentre B.V." and provider.source == "auto"  # aut-num org
    assert a.as_name == "DATACENTRE-AS" and a.sources["as_name"] == f"rpsl:{small_world['rpsl']}"
    assert b.provider_id == a.provider_id and b.reseller == a.reseller
    assert b.abuse_contact == "abuse@reseller.example"
    assert c.provider_id == a.provider_id
    assert c.reseller is None
    assert c.abuse_contact == "abuse@datacentre.example"
    assert c.country == "NL"
    assert c.sources["whois_chain"] == f"rpsl:{small_world['rpsl']}"


def test_manual_prefix_and_contact_win_and_keep_provenance(
    settings, small_world, add_notices
) -> None:
    with session_scope(settings.database_url) as session:
        # what 'hostwatch contacts add --name ... --network ... --email ...' writes
        shop = add_provider(session, "Reseller GmbH", now=NOW, provenance="hotline case 17")
        link_asset(
            session,
            shop,
            "prefix",
            "45.10.16.0/20",
            now=NOW,
            provenance="hotline case 17",
            rules=AssetRules(),
        )
        wider = add_provider(session, "Upstream Transit", now=NOW, provenance="analyst")
        link_asset(
            session,
            wider,
            "prefix",
            "45.10.0.0/17",
            now=NOW,
            provenance="analyst",
            rules=AssetRules(),
        )
        session.add(
            Contact(
                provider_id=shop.id, name="Reseller GmbH", role="reseller",
                email="desk@reseller.example", network="45.10.16.0/20", source="manual",
                provenance="hotline case 17", created_at=NOW, updated_at=NOW,
            )
        )  # fmt: skip
        shop_id, wider_id = shop.id, wider.id
    inside, outside = add_notices(
        [("http://45.10.20.7/", WHEN, None), ("http://45.10.1.1/", WHEN, None)]
    )
    attribute_pending(settings, progress=False)
    a, b = _latest(settings, [inside, outside])
    assert a.provider_id == shop_id  # the longest manual prefix wins
    assert a.sources["provider"] == "manual-prefix:45.10.16.0/20"
    assert a.sources["provider_provenance"] == "hotline case 17"
    assert a.abuse_contact == "desk@reseller.example"
    assert a.sources["abuse_contact"].startswith("manual-contact:")
    assert a.origin_asn == 64496  # automatic facts are still recorded beside the override
    assert b.provider_id == wider_id
    assert b.abuse_contact == "abuse@datacentre.example"


def test_manual_asn_asset_beats_the_automatic_provider(settings, small_world, add_notices) -> None:
    (first,) = add_notices([("http://45.10.200.1/", WHEN, None)])
    attribute_pending(settings, progress=False)
    (auto_row,) = _latest(settings, [first])
    with session_scope(settings.database_url) as session:
        corrected = add_provider(session, "Datacentre Holding", now=NOW, provenance="KvK register")
        link_asset(
            session,
            corrected,
            "asn",
            "AS64496",
            now=NOW,
            provenance="KvK register",
            rules=AssetRules(),
        )
        corrected_id = corrected.id
    attribute_pending(settings, recompute=True, progress=False)
    (row,) = _latest(settings, [first])
    assert row.id != auto_row.id and row.provider_id == corrected_id != auto_row.provider_id
    assert row.sources["provider"] == "manual-asn:64496"
    with session_scope(settings.database_url) as session:
        assert session.scalar(select(func.count()).select_from(Attribution)) == 2


def test_bad_input_gets_a_status_and_reason_never_a_crash(
    settings, small_world, dns_server, add_notices
) -> None:
    rows = [
        ("http://missing.test/", WHEN, None),
        ("http://intranet.test/", WHEN, None),
        ("http://127.0.0.1/", WHEN, None),
        ("http://[2001:db8::1]/", WHEN, None),
        ("http://reported.example/", WHEN, "999.1.1.1"),
        ("http://reported2.example/", WHEN, "<script>"),
        ("http://8.8.8.8/", WHEN, None),  # public, but not in this small table
        ("http://45.10.20.7/", WHEN, None),
    ]
    ids = add_notices(rows)
    summary = attribute_pending(  # resolved at intake: the clock at the notices' time
        settings.model_copy(update={"resolver": dns_server.address, "now": WHEN}), progress=False
    )
    assert summary.notices == len(rows)
    got = {row.host: row for row in _latest(settings, ids)}
    expected = {
        "missing.test": ("dns-failed", "NXDOMAIN"),
        "intranet.test": ("bogon", "private address space (10.0.0.0/8)"),
        "127.0.0.1": ("bogon", "loopback"),
        "2001:db8::1": ("bogon", "documentation range"),
        "reported.example": ("no-address", "'999.1.1.1' is not an IP address"),
        "reported2.example": ("no-address", "is not an IP address"),
        "8.8.8.8": ("unrouted", f"no route covers 8.8.8.8 in routing:{small_world['routing']}"),
    }
    for host, (status, reason) in expected.items():
        assert got[host].status == status, host
        assert reason in got[host].reason, host
        assert got[host].provider_id is None
    assert got["45.10.20.7"].status == "ok" and got["45.10.20.7"].reason is None


def test_second_run_only_takes_new_notices(settings, small_world, add_notices) -> None:
    add_notices([("http://45.10.1.1/", WHEN, None)])
    assert attribute_pending(settings, progress=False).notices == 1
    assert attribute_pending(settings, progress=False).notices == 0
    add_notices([("http://45.10.1.2/", WHEN, None)])
    assert attribute_pending(settings, progress=False).notices == 1
    assert attribute_pending(settings, recompute=True, progress=False).notices == 2


def test_at_overrides_the_notice_time(settings, small_world, add_notices) -> None:
    (nid,) = add_notices([("http://45.10.1.1/", WHEN, None)])
    attribute_pending(settings, at=datetime(2025, 1, 1, tzinfo=UTC), progress=False)
    (row,) = _latest(settings, [nid])
    assert row.at == datetime(2025, 1, 1, tzinfo=UTC)
    assert row.sources["newer_than_notice"]  # every snapshot describes 2026-06-01


def test_lookup_columns_name_as_provider_and_country(
    settings, small_world, add_notices, tmp_path: Path
) -> None:
    from hostwatch.attribution.lookup_columns import lookup_columns
    from hostwatch.net.routing import RoutingTable

    add_notices([("http://45.10.1.1/", WHEN, None)])
    attribute_pending(settings, progress=False)  # creates the provider of AS64496
    table = RoutingTable.load(tmp_path / "world_2026-06-01" / "routes.tsv")
    result = table.lookup(["45.10.1.1", "198.35.26.9", "8.8.8.8"])
    columns = lookup_columns(settings, result, at=WHEN)
    assert columns[0] == (None, "Datacentre B.V.", None)  # no name list entry, provider known
    assert columns[1] == ("OTHER-AS", "OTHER-AS", None)  # named, no provider yet
    assert columns[2] == (None, None, None)


def test_rdap_gives_the_abuse_contact_when_nothing_else_does(
    settings, small_world, add_notices
) -> None:
    """A real HTTP server on loopback answers RDAP; the bootstrap in the store points at it."""
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    asked: list[str] = []
    answer = {
        "objectClassName": "ip network",
        "handle": "NET-198-35-26-0-1",
        "startAddress": "198.35.26.0",
        "endAddress": "198.35.26.255",
        "ipVersion": "v4",
        "entities": [
            {
                "objectClassName": "entity",
                "handle": "ABUSE1-TEST",
                "roles": ["abuse"],
                "vcardArray": ["vcard", [["version", {}, "text", "4.0"],
                                         ["email", {}, "text", "abuse@other-as.example"]]],
            }
        ],
    }  # fmt: skip

    class Rdap(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            asked.append(self.path)
            body = json.dumps(answer).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/rdap+json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Rdap)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        bootstrap = settings.state_dir / "reference" / "rdap-bootstrap"
        bootstrap.mkdir(parents=True)
        base = f"http://127.0.0.1:{server.server_address[1]}/"
        (bootstrap / "ipv4.json").write_text(
            json.dumps({"version": "1.0", "services": [[["198.0.0.0/8"], [base]]]})
        )
        ids = add_notices(
            [("http://198.35.26.9/", WHEN, None), ("http://198.35.26.10/", WHEN, None)]
        )
        attribute_pending(settings, rdap=True, progress=False)
    finally:
        server.shutdown()
    rows = _latest(settings, ids)
    assert [row.abuse_contact for row in rows] == ["abuse@other-as.example"] * 2
    assert rows[0].sources["abuse_contact"] == "rdap"
    assert asked == ["/ip/198.35.26.9"]  # once per prefix


def test_files_imported_into_the_reference_store_are_used(
    settings, tmp_path: Path, add_notices
) -> None:
    """``hostwatch data import`` puts files in the store; attribution catalogues and uses them."""
    from hostwatch.clock import Clock
    from hostwatch.net.fetch.run import import_reference_files
    from hostwatch.net.fetch.store import ReferenceStore

    folder = tmp_path / "incoming"
    folder.mkdir()
    table = folder / "routes_20260601.tsv"
    table.write_text("prefix\torigin_asn\n45.10.0.0/16\t64496\n")
    store = ReferenceStore.under(settings.state_dir)
    outcomes = import_reference_files(store, [table], clock=Clock.at("2026-11-01T00:00:00Z"))
    assert not any(o.failed for o in outcomes), outcomes
    (nid,) = add_notices([("http://45.10.1.1/", WHEN, None)])
    attribute_pending(settings, progress=False)
    (row,) = _latest(settings, [nid])
    assert row.status == "ok" and row.origin_asn == 64496
    assert row.sources["prefix"].startswith("routing:")
    with session_scope(settings.database_url) as session:
        from hostwatch.model import Snapshot

        snapshot = session.scalar(select(Snapshot))
    assert snapshot.kind == "routing" and snapshot.valid_at == datetime(2026, 6, 1, tzinfo=UTC)
    assert Path(snapshot.path).is_relative_to(settings.state_dir.resolve())
