"""Registrar contacts from RDAP: IANA's real DNS bootstrap file of data/10 picks the registry,
an RDAP server on loopback answers, and the registrar's abuse desk becomes an automatic contact
scoped to the registered domain (SQLite and PostgreSQL).

data/10 holds real IP-network answers but no domain answer; the domain objects served here are
written by hand in the shape ICANN's RDAP response profile prescribes (a ``registrar`` entity
with its IANA id in ``publicIds`` and a nested ``abuse`` entity).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from hostwatch.attribution.rdap import domains_without_registrar, registrar_contacts
from hostwatch.clock import Clock
from hostwatch.identity import url_id
from hostwatch.model.db import migrate, session_scope
from hostwatch.model.notice import Notice
from hostwatch.model.party import Contact
from hostwatch.model.url import Url
from hostwatch.net.rdap import RdapBootstrap, RdapClient, RdapError, parse_domain
from hostwatch.takedown.contacts import ContactBook

NOW = datetime(2026, 7, 1, 12, tzinfo=UTC)


def domain_answer(name: str, registrar: str, iana_id: str, abuse: str | None) -> dict:
    abuse_entities = []
    if abuse is not None:
        abuse_entities.append(
            {
                "objectClassName": "entity",
                "roles": ["abuse"],
                "vcardArray": [
                    "vcard",
                    [
                        ["version", {}, "text", "4.0"],
                        ["fn", {}, "text", "Abuse desk"],
                        ["email", {}, "text", abuse],
                    ],
                ],
            }
        )
    return {
        "objectClassName": "domain",
        "ldhName": name.upper(),
        "handle": f"{name}-HANDLE",
        "entities": [
            {
                "objectClassName": "entity",
                "roles": ["registrar"],
                "publicIds": [{"type": "IANA Registrar ID", "identifier": iana_id}],
                "vcardArray": [
                    "vcard",
                    [["version", {}, "text", "4.0"], ["fn", {}, "text", registrar]],
                ],
                "entities": abuse_entities,
            },
            {
                "objectClassName": "entity",
                "roles": ["registrant"],
                "vcardArray": [
                    "vcard",
                    [
                        ["fn", {}, "text", "A Private Registrant"],
                        ["kind", {}, "text", "individual"],
                    ],
                ],
            },
        ],
    }


@pytest.fixture
def bootstrap(shared_data) -> RdapBootstrap:
    return RdapBootstrap.load(
        shared_data / "10_rdap-whois-samples" / "iana_rdap_bootstrap_from_openrdap"
    )


def test_real_dns_bootstrap_routes_a_domain_to_its_registry(bootstrap):
    assert bootstrap.base_url_for_domain("www.shop.cz") == "https://rdap.nic.cz"
    assert bootstrap.base_url_for_domain("loja.com.br.") == "https://rdap.registro.br/"
    assert bootstrap.base_url_for_domain("example.nl") is None
    with (
        RdapClient(bootstrap=bootstrap, clock=Clock.system()) as client,
        pytest.raises(RdapError, match="no RDAP server"),
    ):
        client.domain("example.nl")


def test_registrar_and_its_abuse_desk_not_the_registrant():
    found = parse_domain(domain_answer("shop.cz", "Registrar s.r.o.", "1234", "abuse@reg.cz"))
    assert (found.name, found.registrar, found.registrar_iana_id, found.abuse_contact) == (
        "shop.cz",
        "Registrar s.r.o.",
        "1234",
        "abuse@reg.cz",
    )
    with pytest.raises(RdapError, match="not a domain"):
        parse_domain({"objectClassName": "ip network", "handle": "x"})


def _notice(session, url: str, host: str, domain: str) -> None:
    row = Url(id=url_id(url), url=url, scheme="http", host=host, host_type="domain",
              registered_domain=domain, first_seen_at=NOW)  # fmt: skip
    session.add(row)
    session.flush()
    session.add(Notice(notice_key=url, url_id=row.id, source="t", format="csv", received_at=NOW,
                       raw=url))  # fmt: skip


def test_registrar_contacts_written_and_found_for_the_domain(
    settings, scripted_server, tmp_path
) -> None:
    migrate(settings.database_url)
    served = scripted_server
    served.answers["/domain/shop.cz"] = json.dumps(
        domain_answer("shop.cz", "Registrar s.r.o.", "1234", "Abuse@Reg.cz")
    ).encode()
    served.answers["/domain/quiet.cz"] = json.dumps(
        domain_answer("quiet.cz", "Quiet Registrar", "99", None)
    ).encode()
    with session_scope(settings.database_url) as session:
        _notice(session, "http://www.shop.cz/a", "www.shop.cz", "shop.cz")
        _notice(session, "http://quiet.cz/b", "quiet.cz", "quiet.cz")
        _notice(session, "http://gone.cz/c", "gone.cz", "gone.cz")  # server answers 404
        _notice(session, "http://known.cz/d", "known.cz", "known.cz")
        session.add(Contact(name="Analyst's registrar", role="registrar", domain="known.cz",
                            email="desk@known.example", source="manual", created_at=NOW,
                            updated_at=NOW))  # fmt: skip
    client = RdapClient(base_url=served.base_url, cache_dir=tmp_path / "cache",
                        rate_per_second=1000.0, burst=100, clock=Clock.at(NOW))  # fmt: skip
    with client, session_scope(settings.database_url) as session:
        assert domains_without_registrar(session) == ["gone.cz", "quiet.cz", "shop.cz"]
        summary = registrar_contacts(session, client, now=NOW)
        assert summary.written == 1
        assert summary.failed == {"not found": 1, "no abuse address": 1}
        again = registrar_contacts(session, client, now=NOW)  # from the cache, refreshed in place
    assert again.written == 1
    assert len(served.requests_for("/domain/shop.cz")) == 1
    with session_scope(settings.database_url) as session:
        (contact,) = session.scalars(select(Contact).where(Contact.source == "auto")).all()
        assert (contact.role, contact.domain, contact.email, contact.name) == (
            "registrar",
            "shop.cz",
            "abuse@reg.cz",
            "Registrar s.r.o.",
        )
        assert contact.provenance.endswith("/domain/shop.cz (IANA registrar 1234)")
        book = ContactBook.load(session)
        found = book.find(roles=("registrar",), ip=None, provider_id=None, host="www.shop.cz")
        assert found is not None and found.email == "abuse@reg.cz"
        manual = book.find(roles=("registrar",), ip=None, provider_id=None, host="known.cz")
        assert manual is not None and manual.email == "desk@known.example"
        assert book.find(roles=("registrar",), ip=None, provider_id=None, host="other.cz") is None
