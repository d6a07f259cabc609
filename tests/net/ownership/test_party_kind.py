"""Kind of a network's holder (organisation, natural person, unknown) from the real RPSL and RDAP
answers of data/10, and the one rule that keeps natural persons unnamed."""

from __future__ import annotations

import pytest

from hostwatch.attribution.parties import PRIVATE_INDIVIDUAL, shown_name, shown_party
from hostwatch.attribution.record import reseller_label
from hostwatch.net.party_kind import (
    NATURAL_PERSON,
    ORGANISATION,
    UNKNOWN,
    rdap_kind,
    vcard_kind,
)
from hostwatch.net.rdap import parse_network
from hostwatch.net.rpsl import parse_rpsl_text
from hostwatch.net.whois_tree import WhoisTree


@pytest.fixture
def real_tree(whois_answers) -> WhoisTree:
    objects = []
    for address, text in whois_answers.items():
        objects += parse_rpsl_text(text, address)
    return WhoisTree.from_objects(objects)


@pytest.mark.parametrize(
    ("address", "kind", "name", "org_country"),
    [
        # AFRINIC: organisation object of org-type LIR, registered in South Africa
        ("196.11.240.215", ORGANISATION, "MTN SA", "ZA"),
        # AFRINIC: org-type EU-PI (end-user PI holder): only organisations get one
        (
            "2001:43f8:7b0::",
            ORGANISATION,
            "Telecommunication Sevice  Providers Association of Kenya - TESPOK",
            "KE",
        ),
        # RIPE: no organisation object, but its contact is a role (a desk of an organisation)
        ("62.239.237.1", ORGANISATION, "UDC", None),
        # RIPE: a company network whose only contact is a person: not a natural person's network
        ("2a00:2381:ffff::1", UNKNOWN, "BT World IPv6 Launch", None),
        # LACNIC: owner/ownerid name the holder
        ("2801:10:c000::", ORGANISATION, "Universidad Catolica de Oriente", None),
        # APNIC: an allocation goes to an LIR
        ("210.107.73.73", ORGANISATION, "DACOM Corp.", None),
    ],
)
def test_kind_of_real_networks(real_tree, address, kind, name, org_country):
    link = real_tree.chain(address)[0]
    assert (link.kind, link.org_name, link.org_country) == (kind, name, org_country)


def test_holder_named_as_its_person_contact_is_a_natural_person():
    text = """\
inetnum:   192.0.2.0 - 192.0.2.7
netname:   HOME-SERVER
descr:     Jan  de Vries
admin-c:   JV1-TEST
status:    ASSIGNED PA

inetnum:   192.0.2.0 - 192.0.2.255
netname:   RESOLD
descr:     Jan de Vries
tech-c:    JV1-TEST
status:    SUB-ALLOCATED PA

person:    Jan de Vries
nic-hdl:   JV1-TEST
"""
    tree = WhoisTree.from_objects(parse_rpsl_text(text))
    customer, reseller = tree.chain("192.0.2.3")
    assert customer.kind == reseller.kind == NATURAL_PERSON
    # a natural person renting space on is a reseller all the same, and still not named
    assert reseller_label(reseller) == PRIVATE_INDIVIDUAL


EXPECTED_RDAP = {
    "200.57.141.161": ORGANISATION,  # LACNIC registrant vCard kind org
    "2801:10:c000::": ORGANISATION,
    "74.125.225.229": ORGANISATION,  # ARIN registrant GOGL, kind org
    "2001:4860:4860::8888": ORGANISATION,
    "2001:43f8:7b0::": ORGANISATION,  # AFRINIC: no roles; the ORG- entity, kind org
    "196.11.240.215": ORGANISATION,
    "62.239.237.1": UNKNOWN,  # RIPE: the registrant is a maintainer without a vCard
    "2a00:2381:ffff::1": UNKNOWN,
    "210.107.73.73": UNKNOWN,  # APNIC: no registrant at all
    "2001:240:10c:1::ca20:9d1d": UNKNOWN,
}


def test_kind_of_real_rdap_registrants(rdap_answers):
    kinds = {ip: rdap_kind(parse_network(doc)) for ip, doc in rdap_answers.items()}
    assert kinds == EXPECTED_RDAP


def test_real_individual_entity_is_a_natural_person_and_never_named(rdap_answers):
    network = parse_network(rdap_answers["2801:10:c000::"])
    (person,) = {e for e in network.entities_with_role("registrant") if e.kind == "individual"}
    assert vcard_kind(person.kind) == NATURAL_PERSON
    party = {
        "level": "customer",
        "name": person.name,
        "handle": person.handle,
        "kind": "natural-person",
    }
    assert shown_name(party) == PRIVATE_INDIVIDUAL
    assert person.name not in repr(shown_party(party)) and person.handle not in repr(
        shown_party(party)
    )
    company = {"level": "customer", "name": "Webshop GmbH", "handle": "ORG-1", "kind": ORGANISATION}
    assert shown_party(company)["name"] == "Webshop GmbH"
