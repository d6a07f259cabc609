"""Who is responsible: the chain of parties of each attributed URL, its figures, and persons never
named; a hand-written WHOIS dump over a real Dutch RIPE block, the real 2018 delegated statistics
and a real natural person's name from the RDAP answers of data/10, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert, text
from typer.testing import CliRunner

from hostwatch.attribution.batch import attribute_pending
from hostwatch.attribution.record import latest_for_notices
from hostwatch.cli.app import app
from hostwatch.model.check import Check
from hostwatch.model.db import engine_for, session_scope
from hostwatch.net.party_kind import NATURAL_PERSON, ORGANISATION, UNKNOWN

WHEN = datetime(2026, 7, 1, 12, tzinfo=UTC)
H = timedelta(hours=1)
DELEGATED = (
    "07_rir-delegated-extended-and-iana/2018-10-13_all5_from_IPToCC-2.1.2/"
    "delegated-ripencc-extended-20181013.gz"
)


def real_person(shared_data: Path) -> str:
    """The name of a natural person as LACNIC's RDAP gave it (vCard kind individual)."""
    path = shared_data / "10_rdap-whois-samples" / "ipwhois_tests" / "rdap.json"
    answer = json.loads(path.read_text())["2801:10:c000::"]["response"]
    card = next(e for e in answer["entities"] if e["handle"] == "JDM7")["vcardArray"][1]
    assert ["kind", {}, "text", "individual"] in card
    return next(prop[3] for prop in card if prop[0] == "fn")


def dump(person: str) -> str:
    """5.2.64.0/20 is a real block the RIPE NCC allocated to a Dutch holder (delegated stats)."""
    return f"""\
inetnum:        5.2.64.0 - 5.2.79.255
netname:        DC-NET
status:         ALLOCATED PA
country:        NL
org:            ORG-DC1-TEST

inetnum:        5.2.66.0 - 5.2.67.255
netname:        OFFSHORE-RESELLER
status:         SUB-ALLOCATED PA
country:        NL
org:            ORG-RS1-TEST

inetnum:        5.2.67.0 - 5.2.67.127
netname:        SUB-RESELLER
status:         SUB-ALLOCATED PA
country:        NL
org:            ORG-RS2-TEST

inetnum:        5.2.67.8 - 5.2.67.15
netname:        PRIVATE-SERVER
descr:          {person}
status:         ASSIGNED PA
country:        NL
admin-c:        PP1-TEST

inetnum:        5.2.67.64 - 5.2.67.127
netname:        SHOP-NET
status:         ASSIGNED PA
country:        NL
org:            ORG-CU1-TEST

organisation:   ORG-DC1-TEST
org-name:       Datacentre B.V.
org-type:       LIR
country:        NL

organisation:   ORG-RS1-TEST
org-name:       Offshore Hosting Ltd
org-type:       OTHER
country:        SC

organisation:   ORG-RS2-TEST
org-name:       Cyprus VPS Ltd
org-type:       OTHER
country:        CY

organisation:   ORG-CU1-TEST
org-name:       Webshop GmbH
org-type:       OTHER
country:        DE

person:         {person}
nic-hdl:        PP1-TEST

aut-num:        AS64496
as-name:        DATACENTRE-AS
org:            ORG-DC1-TEST
"""


@pytest.fixture
def world(tmp_path: Path, catalogue, shared_data: Path) -> str:  # type: ignore[no-untyped-def]
    person = real_person(shared_data)
    folder = tmp_path / "world_2026-06-01"
    folder.mkdir()
    table = folder / "routes.tsv"
    # 5.2.64.0/20 (NL in the delegated stats) and 5.10.64.0/18 (NL, no WHOIS objects)
    table.write_text("prefix\torigin_asn\n5.2.64.0/20\t64496\n5.10.64.0/18\t64497\n")
    names = folder / "asnames.tsv"
    names.write_text("asn\tas_name\n64497\tOTHER-AS\n")
    rpsl = folder / "test.db.rpsl"
    rpsl.write_text(dump(person), encoding="utf-8")
    catalogue(
        routing=[table],
        asnames=[names],
        rpsl=[rpsl],
        delegated=[shared_data / DELEGATED],
    )
    return person


URLS = {
    "private": "http://5.2.67.9/a",  # natural person under two resellers
    "shop": "http://5.2.67.70/b",  # company customer under two resellers
    "reseller": "http://5.2.66.1/c",  # the first reseller's own space
    "holder": "http://5.2.70.1/d",  # the datacentre's own space
    "bare": "http://5.10.64.9/e",  # routed, no WHOIS: holder from the AS and delegated stats
}


def _attribute(settings, add_notices) -> dict[str, object]:  # type: ignore[no-untyped-def]
    ids = add_notices([(url, WHEN, None) for url in URLS.values()])
    summary = attribute_pending(settings, progress=False)
    assert summary.by_status == {"ok": len(URLS)}
    with session_scope(settings.database_url) as session:
        found = latest_for_notices(session, ids)
        rows = {name: found[i] for name, i in zip(URLS, ids, strict=True)}
        for row in rows.values():
            session.expunge(row)
    return rows


def test_chain_of_parties_with_country_and_kind(settings, world, add_notices) -> None:
    rows = _attribute(settings, add_notices)
    private = rows["private"].parties
    assert [(p["level"], p["name"], p["country"], p["kind"]) for p in private] == [
        ("network-holder", "Datacentre B.V.", "NL", ORGANISATION),
        ("reseller", "Offshore Hosting Ltd", "SC", ORGANISATION),
        ("reseller", "Cyprus VPS Ltd", "CY", ORGANISATION),
        ("customer", "private individual", "NL", NATURAL_PERSON),
    ]
    assert private[-1]["handle"] is None  # a RIPE handle is a person's initials
    # the name is in the WHOIS dump, never in what the attribution stored
    customer_link = rows["private"].whois_chain[0]
    assert (customer_link["org_name"], customer_link["netname"], customer_link["kind"]) == (
        "private individual",
        None,
        NATURAL_PERSON,
    )
    with engine_for(settings.database_url).connect() as conn:
        stored = [tuple(r) for r in conn.execute(text("SELECT * FROM attributions"))]
    assert world not in repr(stored) and world.split()[0] not in repr(stored)
    assert private[0]["country_source"] == "delegated"  # the RIR's record of the holder
    assert rows["private"].country == "NL"  # hosting country of the IP
    assert rows["private"].reseller == "Cyprus VPS Ltd (ORG-RS2-TEST)"  # nearest the customer
    shop = rows["shop"].parties
    assert (shop[-1]["name"], shop[-1]["country"], shop[-1]["kind"]) == (
        "Webshop GmbH",
        "DE",
        ORGANISATION,
    )
    assert [p["level"] for p in rows["reseller"].parties] == ["network-holder", "reseller"]
    assert [p["level"] for p in rows["holder"].parties] == ["network-holder"]
    (bare,) = rows["bare"].parties
    assert (bare["name"], bare["handle"], bare["country"], bare["kind"]) == (
        "OTHER-AS",
        "AS64497",
        "NL",  # delegated stats: 5.10.64.0 is registered to a Dutch holder
        UNKNOWN,  # no WHOIS object says what the holder is
    )


def _checks(settings, rows) -> None:  # type: ignore[no-untyped-def]
    """Private: removed within a day; shop: still online; reseller: removed after 3 days."""
    online = {"private": [1], "shop": [1, 30, 60], "reseller": [1, 70], "holder": [2]}
    offline = {"private": [5, 6, 7], "reseller": [75, 76, 77], "holder": [3, 4, 5]}
    values = []
    for name, hours in online.items():
        values += [
            {
                "url_id": rows[name].url_id,
                "checked_at": WHEN + h * H,
                "online": True,
                "outcome": "ok",
            }
            for h in hours
        ]
    for name, hours in offline.items():
        values += [
            {
                "url_id": rows[name].url_id,
                "checked_at": WHEN + h * H,
                "online": False,
                "outcome": "refused",
            }
            for h in hours
        ]
    with engine_for(settings.database_url).begin() as conn:
        conn.execute(insert(Check), values)


def _run(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_figures_count_persons_never_name_them_and_agree_with_takedown(
    settings, world, add_notices
) -> None:
    rows = _attribute(settings, add_notices)
    _checks(settings, rows)
    period = "2026-06-01..2026-09-01"
    owned = json.loads(_run("metrics", "ownership", "--period", period, "--format", "json"))
    by_reseller = json.loads(
        _run("metrics", "takedown", "--by", "reseller", "--period", period, "--format", "json")
    )
    overall = json.loads(_run("metrics", "takedown", "--period", period, "--format", "json"))
    # one URL has a natural person as its customer: counted, and never named anywhere
    nl = owned["hosted_in_country"]
    assert nl["country"] == "NL" and nl["urls"] == 5
    customer = nl["levels"]["customer"]
    assert customer["kinds"] == {"organisation": 1, "natural-person": 1, "unknown": 0}
    assert customer["nationality"] == {"domestic": 1, "foreign": 1, "unknown": 0, "none": 3}
    resellers = nl["levels"]["reseller"]
    assert resellers["nationality"] == {"domestic": 0, "foreign": 3, "unknown": 0, "none": 2}
    assert resellers["countries"] == {"CY": 2, "SC": 1}
    assert nl["levels"]["network-holder"]["nationality"]["domestic"] == 5
    assert nl["responsible"] == {"company": 3, "private": 1, "unknown": 1}
    table = _run("metrics", "ownership", "--period", period)
    for output in (json.dumps(owned), json.dumps(by_reseller), table):
        assert world not in output and world.split()[0] not in output
    # the reseller figures partition the same episodes as the overall takedown figures
    groups = {row["reseller"]: row for row in by_reseller["resellers"]}
    assert sum(row["n"] for row in groups.values()) == overall["n"] == by_reseller["n"] == 4
    assert sum(row["episodes"] for row in owned["resellers"]) == owned["episodes"] == 5
    for row in owned["resellers"]:
        assert groups[row["reseller"]]["n"] == row["n"]
        assert groups[row["reseller"]]["removed"] == row["removed"]
    cyprus = groups["Cyprus VPS Ltd (ORG-RS2-TEST)"]
    assert cyprus["network_holder"] == "Datacentre B.V."
    assert (cyprus["n"], cyprus["removed"]) == (2, 1)  # the private server removed, the shop not
    assert groups["(no reseller)"]["network_holder"] == "Datacentre B.V.; OTHER-AS"
    assert groups["Offshore Hosting Ltd (ORG-RS1-TEST)"]["removed_within_24h"] == 0.0


def test_report_section_who_is_responsible_names_no_person(
    settings, world, add_notices, tmp_path
) -> None:
    """Both editions: the counts as computed, the person named in neither; the reseller by name
    in the restricted edition and by its keyed reference in the public one."""
    import re

    from hostwatch.metrics.pseudonymise import pseudonym

    rows = _attribute(settings, add_notices)
    _checks(settings, rows)
    reseller = "Cyprus VPS Ltd (ORG-RS2-TEST)"
    shown = {"restricted": reseller, "public": pseudonym(reseller, settings.pseudonym_key)}
    for edition, name in shown.items():
        out = tmp_path / edition
        _run(
            "report",
            "--period",
            "2026-06-01..2026-09-01",
            "--edition",
            edition,
            "--out",
            str(out),
            "--no-pdf",
        )
        text = (out / "report.html").read_text(encoding="utf-8")
        assert '<a href="#who-is-responsible">' in text  # in the contents too
        section = text.split('<section id="who-is-responsible">', 1)[1].split("</section>", 1)[0]

        def cells(table_id: str, section: str = section) -> list[list[str]]:
            table = section.split(f'<table id="{table_id}">', 1)[1].split("</table>", 1)[0]
            body = table.split("<tbody>", 1)[1]
            return [
                [
                    re.sub(r"<[^>]+>", "", cell).strip()
                    for cell in re.findall(r"<td[^>]*>(.*?)</td>", row)
                ]
                for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)
            ]

        nationality = cells("ownership-nationality")
        assert nationality[2] == ["assigned customer", "1", "1", "0", "3", "1", "1", "0"]
        split = section.split('id="ownership-split">', 1)[1].split("</p>", 1)[0]
        assert "a private individual for 1" in " ".join(split.split())
        resellers = [row[0] for row in cells("ownership-resellers")]
        assert name in resellers, edition
        if edition == "public":
            assert reseller not in text
        for path in out.iterdir():
            assert world not in path.read_text(encoding="utf-8"), path.name


def test_rdap_registrant_is_the_party_where_no_whois_dump_covers_the_address(
    settings, catalogue, add_notices, tmp_path, shared_data
) -> None:
    """A real HTTP server on loopback serves the real RIR answers of data/10."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    path = shared_data / "10_rdap-whois-samples" / "ipwhois_tests" / "rdap.json"
    answers = {f"/ip/{ip}": e["response"] for ip, e in json.loads(path.read_text()).items()}

    class Rdap(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps(answers[self.path]).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/rdap+json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    folder = tmp_path / "routes_2026-06-01"
    folder.mkdir()
    table = folder / "routes.tsv"
    table.write_text("prefix\torigin_asn\n200.57.128.0/19\t64498\n62.239.237.0/24\t64499\n")
    names = folder / "asnames.tsv"
    names.write_text("asn\tas_name\n64498\tTRIARA-AS\n64499\tBT-AS\n")
    catalogue(routing=[table], asnames=[names])
    server = ThreadingHTTPServer(("127.0.0.1", 0), Rdap)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        bootstrap = settings.state_dir / "reference" / "rdap-bootstrap"
        bootstrap.mkdir(parents=True)
        base = f"http://127.0.0.1:{server.server_address[1]}/"
        (bootstrap / "ipv4.json").write_text(
            json.dumps({"version": "1.0", "services": [[["0.0.0.0/0"], [base]]]})
        )
        ids = add_notices(
            [("http://200.57.141.161/x", WHEN, None), ("http://62.239.237.1/y", WHEN, None)]
        )
        attribute_pending(settings, rdap=True, progress=False)
    finally:
        server.shutdown()
    with session_scope(settings.database_url) as session:
        found = latest_for_notices(session, ids)
        triara, bt = found[ids[0]].parties, found[ids[1]].parties
    # LACNIC: an allocation whose registrant is an organisation (vCard kind org) in Mexico
    assert triara == [
        {
            "level": "network-holder",
            "name": "TRIARA-AS",
            "handle": "AS64498",
            "country": "MX",
            "country_source": "rdap",
            "kind": ORGANISATION,
        }
    ]
    # RIPE: an assignment whose registrant is a maintainer without a vCard: kind unknown
    assert [(p["level"], p["name"], p["country"], p["kind"]) for p in bt] == [
        ("network-holder", "BT-AS", None, UNKNOWN),
        ("customer", "BT-CORPORATE", "GB", UNKNOWN),
    ]
