"""The allocation tree over hand-written RIPE-style split dumps and the real answers of data/10."""

from __future__ import annotations

import gzip
import ipaddress
from pathlib import Path

import numpy as np
import pytest

from hostwatch.net.rpsl import parse_rpsl_text
from hostwatch.net.whois_tree import WhoisTree, allocation_level, parse_range

ORGANISATIONS = """\
organisation:   ORG-DC1-TEST
org-name:       Datacentre B.V.
org-type:       LIR
country:        NL
abuse-c:        DCAB-TEST
source:         TEST

organisation:   ORG-RS1-TEST
org-name:       Offshore Reseller Ltd
org-type:       OTHER
abuse-c:        RSAB-TEST

organisation:   ORG-CU1-TEST
org-name:       Customer GmbH
org-type:       OTHER
"""

ROLES = """\
role:           Datacentre abuse desk
nic-hdl:        DCAB-TEST
abuse-mailbox:  abuse@datacentre.example

role:           Reseller abuse
nic-hdl:        RSAB-TEST
abuse-mailbox:  abuse@reseller.example

role:           Role without handle
abuse-mailbox:  lost@nowhere.example
"""

INETNUMS = """\
# hand-written split dump
inetnum:        198.18.0.0 - 198.18.255.255
netname:        DC-NET
org:            ORG-DC1-TEST
country:        NL
status:         ALLOCATED PA
abuse-c:        DCAB-TEST

inetnum:        198.18.16.0 - 198.18.31.255
netname:        RESELLER-NET
org:            ORG-RS1-TEST
country:        SC
status:         SUB-ALLOCATED PA

inetnum:        198.18.17.0 - 198.18.17.255
netname:        CUSTOMER-NET
org:            ORG-CU1-TEST
country:        DE
status:         ASSIGNED PA

inetnum:        198.18.200.0 - 198.18.200.255
netname:        DIRECT-CUSTOMER
status:         ASSIGNED PA

inetnum:        198.19.0.0 - 198.19.255.255
netname:        TOP-ONLY
status:         ALLOCATED PA
abuse-c:        DCAB-TEST

inetnum:        198.19.64.0 - 198.19.79.255
netname:        QUIET-RESELLER
status:         SUB-ALLOCATED PA

inetnum:        198.19.65.0 - 198.19.65.255
netname:        QUIET-CUSTOMER
status:         ASSIGNED PA

inetnum:        198.18.40.0 - 198.18.39.0
netname:        REVERSED-RANGE

inetnum:        198.18.50.0 - 198.18.50.255
netname         MISSING-COLON
status:         ASSIGNED PA

inetnum:        198.18.30.0 - 198.18.33.255
netname:        STRADDLES-THE-RESELLER
status:         ASSIGNED PA
"""

INET6NUMS = """\
inet6num:       2001:db8::/32
netname:        DC-V6
org:            ORG-DC1-TEST
status:         ALLOCATED PA

inet6num:       2001:db8:1000::/36
netname:        RESELLER-V6
org:            ORG-RS1-TEST
status:         SUB-ALLOCATED PA

inet6num:       2001:db8:1000::/48
netname:        CUSTOMER-V6
status:         ASSIGNED PA
"""

AUTNUMS = """\
aut-num:        AS64500
as-name:        DC-AS
org:            ORG-DC1-TEST

aut-num:        ASX1
as-name:        BROKEN
"""


@pytest.fixture
def dumps(tmp_path) -> list[Path]:
    files = {
        "ripe.db.organisation.gz": ORGANISATIONS,
        "ripe.db.role.gz": ROLES,
        "ripe.db.inetnum.gz": INETNUMS,
        "ripe.db.inet6num.gz": INET6NUMS,
        "ripe.db.aut-num.gz": AUTNUMS,
    }
    paths = []
    for name, text in files.items():
        path = tmp_path / name
        path.write_bytes(gzip.compress(text.encode()))
        paths.append(path)
    return paths


@pytest.fixture
def tree(dumps) -> WhoisTree:
    # inetnums first on purpose: contacts and organisations are resolved after everything is read
    return WhoisTree.load(sorted(dumps, key=lambda p: "inet" not in p.name))


def test_customer_is_seen_under_reseller_under_network_holder(tree):
    chain = tree.chain("198.18.17.42")
    assert [link.netname for link in chain] == ["CUSTOMER-NET", "RESELLER-NET", "DC-NET"]
    assert [link.level for link in chain] == ["customer", "reseller", "holder"]
    assert [link.org_name for link in chain] == [
        "Customer GmbH",
        "Offshore Reseller Ltd",
        "Datacentre B.V.",
    ]
    assert [link.country for link in chain] == ["DE", "SC", "NL"]
    customer, reseller, holder = chain
    assert reseller.abuse_mailbox == "abuse@reseller.example"
    assert reseller.abuse_handle == "RSAB-TEST"
    assert reseller.abuse_inherited_from is None
    assert customer.abuse_mailbox == "abuse@reseller.example"
    assert customer.abuse_inherited_from == "198.18.16.0 - 198.18.31.255"
    assert holder.abuse_mailbox == "abuse@datacentre.example"
    assert customer.first_address == "198.18.17.0"
    assert customer.last_address == "198.18.17.255"
    assert customer.source.endswith("ripe.db.inetnum.gz:15")


def test_abuse_c_only_at_the_top_is_inherited_all_the_way_down(tree):
    chain = tree.chain("198.19.65.1")
    assert [link.netname for link in chain] == ["QUIET-CUSTOMER", "QUIET-RESELLER", "TOP-ONLY"]
    assert [link.abuse_mailbox for link in chain] == ["abuse@datacentre.example"] * 3
    assert [link.abuse_inherited_from for link in chain] == [
        "198.19.0.0 - 198.19.255.255",
        "198.19.0.0 - 198.19.255.255",
        None,
    ]


def test_assignment_directly_under_the_allocation(tree):
    chain = tree.chain("198.18.200.7")
    assert [link.netname for link in chain] == ["DIRECT-CUSTOMER", "DC-NET"]
    assert chain[0].abuse_mailbox == "abuse@datacentre.example"


def test_address_between_children_gets_the_parent_and_outside_gets_nothing(tree):
    assert [link.netname for link in tree.chain("198.18.100.1")] == ["DC-NET"]
    assert tree.chain("8.8.8.8") == []
    assert tree.chain("not an address") == []


def test_ipv6_chain_with_abuse_from_organisations(tree):
    chain = tree.chain("2001:db8:1000::1")
    assert [link.netname for link in chain] == ["CUSTOMER-V6", "RESELLER-V6", "DC-V6"]
    assert chain[0].abuse_mailbox == "abuse@reseller.example"
    assert chain[2].abuse_mailbox == "abuse@datacentre.example"
    assert [link.netname for link in tree.chain("2001:db8:f::1")] == ["DC-V6"]


def test_broken_objects_are_reported_and_the_rest_loaded(tree):
    text = tree.warnings.summary()
    assert "ripe.db.inetnum.gz:38: bad inetnum range '198.18.40.0 - 198.18.39.0'" in text
    assert "ripe.db.inetnum.gz:41: broken object skipped: line 42" in text
    assert "ripe.db.inetnum.gz:45: '198.18.30.0 - 198.18.33.255' overlaps" in text
    assert "ripe.db.role.gz:9: role without nic-hdl" in text
    assert "bad aut-num 'ASX1'" in text
    assert tree.network_count == 11


def test_aut_num_with_organisation_and_abuse(tree):
    aut = tree.aut_num(64500)
    assert aut is not None
    assert (aut.as_name, aut.org_name, aut.abuse_mailbox) == (
        "DC-AS",
        "Datacentre B.V.",
        "abuse@datacentre.example",
    )
    assert tree.aut_num(64501) is None


def test_vectorised_lookup_agrees_with_chain(tree):
    rng = np.random.default_rng(7)
    low = int(ipaddress.IPv4Address("198.17.255.0"))
    values = rng.integers(low, low + 2**17 + 512, 20_000, dtype=np.uint64).astype(np.uint32)
    indices = tree.most_specific(values)
    for value, index in zip(values[:3000], indices[:3000], strict=True):
        expected = tree.chain(str(ipaddress.IPv4Address(int(value))))
        assert tree.chain_of(int(index)) == expected
    assert (indices == -1).any() and (indices >= 0).any()
    assert (tree.most_specific_v4(values) == indices).all()
    assert tree.chain_at_v4(int(indices[0])) == tree.chain_of(int(indices[0]))


def test_mixed_strings_give_ids_of_both_families(tree):
    addresses = ["2001:db8:1000::1", "198.18.17.1", "bogus", "2001:db9::1", "198.19.65.9"]
    ids = tree.most_specific(addresses)
    chains = [tree.chain_of(int(i)) for i in ids]
    assert [c[0].netname if c else None for c in chains] == [
        "CUSTOMER-V6",
        "CUSTOMER-NET",
        None,
        None,
        "QUIET-CUSTOMER",
    ]
    assert chains == [tree.chain(a) for a in addresses]


def test_real_answers_resolve_to_the_abuse_contact_the_rir_states(whois_answers):
    # RIPE states the abuse contact it resolved in a comment; the tree must reach the same one.
    objects = []
    for address, text in whois_answers.items():
        objects += parse_rpsl_text(text, address)
    tree = WhoisTree.from_objects(objects)
    (link,) = tree.chain("62.239.237.1")
    assert (link.netname, link.status, link.abuse_mailbox) == (
        "BT-CORPORATE",
        "ASSIGNED PA",
        "protect@bt.com",
    )
    apnic = tree.chain("210.107.73.73")
    assert [link.netname for link in apnic] == ["BORANET-NET-210-107", "BORANET-KR"]
    assert apnic[0].abuse_mailbox == "hostmaster@nic.or.kr"  # through mnt-irt IRT-KRNIC-KR
    (afrinic,) = tree.chain("196.11.240.215")
    assert (afrinic.org_name, afrinic.country) == ("MTN SA", "ZA")
    (lacnic,) = tree.chain("200.57.141.161")
    assert (lacnic.first_address, lacnic.last_address) == ("200.57.128.0", "200.57.159.255")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("192.0.2.0 - 192.0.2.255", (4, 3221225984, 3221226239)),
        ("200.57.128/19", (4, 3359211520, 3359219711)),
        ("2001:0240::/32", (6, 0x20010240 << 96, ((0x20010240 + 1) << 96) - 1)),
        ("192.0.2.9", (4, 3221225993, 3221225993)),
        ("192.0.2.255 - 192.0.2.0", None),
        ("garbage", None),
    ],
)
def test_parse_range(text, expected):
    assert parse_range(text) == expected


def test_allocation_levels():
    assert allocation_level("ALLOCATED PA") == "holder"
    assert allocation_level("SUB-ALLOCATED PA") == "reseller"
    assert allocation_level("assigned") == "customer"
    assert allocation_level("REALLOCATED") == "reseller"
    assert allocation_level(None) == "other"
