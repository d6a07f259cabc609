"""What the disclosure tests add to the web world: the tipping-off case of issue 15.

Alpha's open case is escalated to the authority (an escalation and an escalated re-notice to
the police address), then moved to Beta, exactly the events a provider once read on its own
timeline; its attribution carries the WHOIS range and resolver address researchers once read;
a watchlist match names it.
"""

from __future__ import annotations

from datetime import timedelta

from webworld import NOW, World

from hostwatch.model import Attribution, Case, Delivery, Message, MessageCase
from hostwatch.model.audit import record
from hostwatch.model.db import session_scope
from hostwatch.takedown.contacts import ContactSpec, add_contact
from hostwatch.takedown.states import transition

AUTHORITY = "meldpunt@politie.example"
WHOIS_RANGE = "127.3.16.0 - 127.3.31.255"
RESOLVER = "127.0.0.1:48467"
CDN_HOST = "edge.cdn-alpha.example"
LEAKS = (
    AUTHORITY,
    "politie",
    "escalat",
    "level 4",
    "case.moved",
    '"moved"',
    "hoster changed",
    "watchlist",
    "T-ESC",
)
"""Strings no provider may read about its own escalated and moved case."""
RESEARCHER_LEAKS = (WHOIS_RANGE, "127.3.16.0", RESOLVER, "48467", CDN_HOST, "Jan at the desk")


def escalate_and_move(world: World) -> int:
    """Escalate Alpha's open case to the authority, then move it to Beta; its id."""
    case_id = world.cases["alpha"][0]
    alpha, beta = world.providers["alpha"], world.providers["beta"]
    at = NOW - timedelta(hours=12)
    with session_scope(world.db_url) as s:
        police = add_contact(
            s, ContactSpec(name="Politie", role="authority", email=AUTHORITY), now=at
        )
        case = s.get(Case, case_id)
        assert case is not None
        for n, kind in enumerate(("escalation", "renotice")):
            message = Message(
                ticket=f"T-ESC-{n}",
                contact_id=police.id,
                to_address=AUTHORITY,
                kind=kind,
                escalation_level=4,
                subject=f"Referral {n}: case {case_id}",
                body="...",
                created_at=at + timedelta(hours=n),
                message_id_header=f"<esc-{n}@hostwatch.invalid>",
            )
            s.add(message)
            s.flush()
            s.add(MessageCase(message_id=message.id, case_id=case_id))
            s.add(
                Delivery(
                    message_id=message.id,
                    attempted_at=at + timedelta(hours=n),
                    transport="smtp",
                    outcome="sent",
                    smtp_code=250,
                )
            )
        case.escalation_level = 4
        case.messages_sent += 2
        case.last_message_at = at + timedelta(hours=1)
        transition(
            s, case, "escalated", at=at, reason=f"escalated to level 4 ({AUTHORITY}) by T-ESC-0"
        )
        transition(
            s,
            case,
            "moved",
            at=at + timedelta(hours=2),
            reason=f"hoster changed: provider:{alpha} -> provider:{beta}",
            data={"from_party": f"provider:{alpha}", "to_party": f"provider:{beta}"},
        )
        case.held = True
        att = s.get(Attribution, case.attribution_id)
        assert att is not None
        att.sources = {
            "abuse_contact": f"rpsl:4 {WHOIS_RANGE}",
            "ips": f"dns:{RESOLVER}",
            "behind_cdn": f"CNAME into {CDN_HOST}",
            "provider": "manual-prefix:192.0.2.0/24",
            "provider_provenance": "Jan at the desk",
            "prefix": "routing:1",
            "country": "geo.cdn-alpha.example says NL",
        }
        record(
            s,
            at=at,
            actor="watchlist",
            action="watchlist.match",
            object_type="attribution",
            object_id=att.id,
            data={"list": "police", "kind": "asn", "value": "64500", "provider_id": alpha},
        )
    return case_id
