"""The notice chain as desks and authorities read it, end to end over SMTP on loopback.

Three URLs (two CSAM, one phishing) stay online for four days at a hoster that reads Dutch and
whose upstream reads English; the ladder reaches the authority step on the fourth day. What
arrived is parsed as a mail client would and read for: threads, one classification per
message, the language per contact, why it is the recipient's network, and one referral per case
to the authority the routing table names (the police for CSAM, the CERT for phishing).
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path

from ntd_servers import LADDER, POLICE, T0, UPSTREAM, Inbox, Site, seed_notice
from sqlalchemy import select

from hostwatch.attribution.assets import AssetRules
from hostwatch.clock import Clock
from hostwatch.model.attribution import Attribution
from hostwatch.model.db import session_scope
from hostwatch.settings import Settings
from hostwatch.takedown.checker import Politeness
from hostwatch.takedown.contacts import ContactSpec, add_contact
from hostwatch.takedown.policy import load_policy
from hostwatch.takedown.workflow import run_pass

HOSTER = "abuse@hoster.test"
CERT = "incident@cert.test"
LAB = AssetRules.allowing(["127.0.0.0/8"])
CHAIN = [
    {
        "key": "127.0.0.0 - 127.255.255.255",
        "netname": "LOOP-NET",
        "org_name": "Hoster BV",
        "abuse_mailbox": HOSTER,
    }
]


def _cases_of(mail: EmailMessage) -> list[str]:
    """The case tickets a message covers, from its X-ARF reports (as a desk's parser reads)."""
    return [
        json.loads(part.get_content())["description"].split(";")[0].removeprefix("ticket ")
        for part in mail.iter_attachments()
        if part.get_filename().startswith("xarf-")
    ]


def _types(mail: EmailMessage) -> set[str]:
    return {
        json.loads(part.get_content())["type"]
        for part in mail.iter_attachments()
        if part.get_filename().startswith("xarf-")
    }


def _body(mail: EmailMessage) -> str:
    part = mail.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


def test_threads_roles_languages_and_one_referral_per_case(
    wf_settings: Settings, web: tuple[Site, str], smtp: tuple[Inbox, str], tmp_path: Path
) -> None:
    site, base = web
    inbox, _ = smtp
    policy_file = tmp_path / "policy.toml"
    policy_file.write_text(LADDER)
    policy = load_policy(wf_settings, policy_file)
    with session_scope(wf_settings.database_url) as session:
        hoster = add_contact(
            session,
            ContactSpec(name="Hoster BV", network="127.0.0.0/8", email=HOSTER, language="nl-NL"),
            now=T0,
            rules=LAB,
        )
        add_contact(
            session,
            ContactSpec(
                name="Upstream NOC", role="upstream", email=UPSTREAM, for_provider="Hoster BV"
            ),
            now=T0,
        )
        add_contact(
            session,
            ContactSpec(name="Police", role="authority", email=POLICE, country="NL"),
            now=T0,
        )
        add_contact(
            session, ContactSpec(name="CERT", role="cert", email=CERT, country="NL"), now=T0
        )
        for path, kind in (("a", "csam"), ("b", "child-abuse"), ("p", "phishing")):
            site.status[f"/{path}"] = 200
            seed_notice(
                session,
                f"{base}/{path}",
                received_at=T0,
                provider_id=hoster.provider_id,
                classification=kind,
            )
        for attribution in session.scalars(select(Attribution)):
            attribution.prefix, attribution.origin_asn = "127.0.0.0/8", 64500
            attribution.as_name, attribution.whois_chain = "LOOP-AS", CHAIN

    clock = Clock.at(T0)
    polite = Politeness(per_host=8, min_interval=0)
    for hour in range(0, 4 * 24 + 2, 2):
        clock.set(T0 + timedelta(hours=hour))
        run_pass(wf_settings, clock, policy=policy, politeness=polite)

    mails = list(inbox.mails)
    by_to: dict[str, list[EmailMessage]] = defaultdict(list)
    for mail in mails:
        by_to[str(mail["To"])].append(mail)
        # one classification per message, and the subject says which
        assert len(_types(mail)) == 1, mail["Subject"]
        assert mail["Reply-To"] == "hotline@hotline.test"
        assert "\n" not in str(mail["Subject"])
    assert set(by_to) == {HOSTER, UPSTREAM, POLICE, CERT}

    # the authorities: one referral per case, with the evidence, never the hoster template
    assert sorted(c for m in by_to[POLICE] for c in _cases_of(m)) == sorted(
        {c for m in by_to[HOSTER] if _types(m) == {"csam"} for c in _cases_of(m)}
    )
    assert len(by_to[POLICE]) == 2 and len(by_to[CERT]) == 1
    assert _types(by_to[CERT][0]) == {"phishing"}
    for mail in by_to[POLICE] + by_to[CERT]:
        body = _body(mail)
        assert "Dear abuse team" not in body and "your network" not in body
        assert "Referral" in str(mail["Subject"]) and "hosted in NL" in str(mail["Subject"])
        evidence = next(
            json.loads(p.get_content())
            for p in mail.iter_attachments()
            if p.get_filename().startswith("evidence-")
        )
        assert evidence["checks"]["online"] >= 1
        assert [m["to_role"] for m in evidence["messages"]][:1] == ["provider"]
        assert evidence["attribution"]["prefix"] == "127.0.0.0/8"
        assert evidence["audit_head"]["tree_size"] > 0
        assert any(e["action"].startswith("case.") for e in evidence["timeline"])

    # the hoster reads Dutch, the upstream English; each is told its place in the chain
    for mail in by_to[HOSTER]:
        assert "Verzoek tot verwijdering" in str(mail["Subject"])
        body = _body(mail)
        assert body.startswith("Geacht abuse-team van Hoster BV,")
        assert "U ontvangt deze melding als de partij die de onderstaande locaties host" in body
    for mail in by_to[UPSTREAM]:
        body = _body(mail)
        assert body.startswith("Dear abuse team of Upstream NOC,")
        assert "as an upstream" in body and "your customer Hoster BV hosts" in body

    # every notice says, per URL, why it is the recipient's network, and what a desk needs
    verified = 0
    for mail in by_to[HOSTER] + by_to[UPSTREAM]:
        body = _body(mail)
        count = len(_cases_of(mail))
        why = body.count("Why your network:") + body.count("Waarom uw netwerk:")
        assert why == count, body
        for case_ticket in _cases_of(mail):
            assert f"Ticket {case_ticket}:" in body
        if mail["To"] == HOSTER:
            assert body.count("WHOIS 127.0.0.0 - 127.255.255.255 (LOOP-NET, Hoster BV)") == count
            seen_online = body.count("(HTTP 200)")
            assert seen_online == count or body.count("online gezien door hostwatch: nog niet")
            verified += seen_online
            assert body.count("Termijn:") == count and "gedragscode" in body
        else:
            assert body.count("AS64500 announces 127.0.0.0/8") == count
        assert "/api/v1/feed" in body

    assert verified > 0  # re-notices say when hostwatch last saw the URL online

    # threads: every follow-up to a recipient replies to the last message it got about the case
    for mails_to in (by_to[HOSTER], by_to[UPSTREAM]):
        seen: dict[str, EmailMessage] = {}
        roots: dict[str, EmailMessage] = {}
        follow_ups = 0
        for mail in mails_to:
            cases = _cases_of(mail)
            earlier = [seen[c] for c in cases if c in seen]
            if earlier:
                follow_ups += 1
                parent = earlier[-1]
                assert mail["In-Reply-To"] == parent["Message-ID"]
                references = str(mail["References"]).split()
                assert references[-1] == parent["Message-ID"]
                assert references[0] == roots[cases[0]]["Message-ID"]
                assert str(mail["Subject"]).startswith("Re: [")
                thread = str(parent["Subject"]).removeprefix("Re: ").split("]")[0]
                assert str(mail["Subject"]).removeprefix("Re: ").startswith(thread + "]")
            else:
                assert mail["In-Reply-To"] is None and mail["References"] is None
            for case in cases:
                seen[case] = mail
                roots.setdefault(case, mail)
        assert follow_ups >= 1
    assert len({str(m["Message-ID"]) for m in mails}) == len(mails)


RESELLER_CHAIN = [
    {
        "key": "127.0.16.0 - 127.0.31.255",
        "netname": "RESELL-NET",
        "level": "reseller",
        "org_name": "Reseller Ltd",
        "abuse_mailbox": "noc@reseller.test",
    },
    {
        "key": "127.0.0.0 - 127.0.255.255",
        "netname": "HOLDER-NET",
        "level": "holder",
        "org_name": "Holder BV",
        "abuse_mailbox": "abuse@holder.test",
    },
]


def test_a_reseller_and_then_its_network_holder_are_told_their_place(
    wf_settings: Settings, web: tuple[Site, str], smtp: tuple[Inbox, str], tmp_path: Path
) -> None:
    """The reseller's desk (filed under the holder's provider by attribution) is written to as
    the reseller, by its own name; the escalation goes to the holder's desk from WHOIS, which is
    told that its customer hosts the URL, never to another address of the same provider."""
    from hostwatch.model.party import Provider

    site, base = web
    inbox, _ = smtp
    policy_file = tmp_path / "policy.toml"
    policy_file.write_text(
        '[[default.ladder]]\nrole = "hoster"\nafter_intervals = 0\n'
        '[[default.ladder]]\nrole = "network-holder"\nafter_intervals = 1\n'
    )
    policy = load_policy(wf_settings, policy_file)
    site.status["/r"] = 200
    with session_scope(wf_settings.database_url) as session:
        holder = Provider(name="Holder BV", created_at=T0, updated_at=T0)
        session.add(holder)
        session.flush()
        seed_notice(
            session, f"{base}/r", received_at=T0, provider_id=holder.id, abuse="noc@reseller.test"
        )
        attribution = session.scalar(select(Attribution))
        attribution.prefix, attribution.origin_asn = "127.0.0.0/16", 64500
        attribution.whois_chain, attribution.reseller = RESELLER_CHAIN, "Reseller Ltd"
    clock = Clock.at(T0)
    for hour in (0, 24, 48):
        clock.set(T0 + timedelta(hours=hour))
        run_pass(wf_settings, clock, policy=policy, politeness=Politeness(8, 0))

    to_reseller, to_holder = inbox.to("noc@reseller.test"), inbox.to("abuse@holder.test")
    assert len(to_reseller) == 1 and len(to_holder) == 2  # the ladder moved up after a day
    body = _body(to_reseller[0])
    assert body.startswith("Dear abuse team of Reseller Ltd,")
    assert "as the reseller whose network holds" in body
    assert "Why your network: WHOIS 127.0.16.0 - 127.0.31.255 (RESELL-NET, Reseller Ltd)" in body
    body = _body(to_holder[0])
    assert body.startswith("Dear abuse team of Holder BV,")
    assert "as the holder of the network: your customer Reseller Ltd hosts" in body
    assert "Why your network: WHOIS 127.0.0.0 - 127.0.255.255 (HOLDER-NET, Holder BV)" in body
    assert {str(m["To"]) for m in inbox.mails} == {"noc@reseller.test", "abuse@holder.test"}
