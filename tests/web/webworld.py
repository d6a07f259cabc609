"""A small hostile world for the web tests: three providers, cases on each, tokens per role.

- Alpha Hosting: entered by hand (``contacts add --network 192.0.2.0/24``), then that network
  verified by ``access grant``; one case URL carries an XSS payload, one classification a CSV
  formula.
- Beta Networks: automatic, with AS64501 verified by ``access grant``.
- <img src=x onerror=alert(1)>Gamma: automatic, nothing verified: its token sees nothing.

The addresses are documentation ranges, which the asset rules refuse unless the deployment lists
them as lab networks (:data:`LAB`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from hostwatch.attribution.assets import AssetRules, verify
from hostwatch.identity import url_id
from hostwatch.model import (
    Attribution,
    Case,
    Check,
    Delivery,
    Message,
    MessageCase,
    Notice,
    Provider,
    Url,
)
from hostwatch.model.db import session_scope
from hostwatch.takedown.contacts import ContactSpec, add_contact
from hostwatch.takedown.states import transition
from hostwatch.web.auth import create_token

T0 = datetime(2024, 3, 1, 10, 0, tzinfo=UTC)
NOW = T0 + timedelta(days=3)
XSS_URL = "http://alpha.example/%3Cscript%3Ealert(1)%3C/script%3E/<script>alert(1)</script>"
XSS_NAME = "<img src=x onerror=alert(1)>Gamma"
FORMULA = '=HYPERLINK("http://evil.example","x")'
LAB_NETWORKS = ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24")
LAB = AssetRules.allowing(LAB_NETWORKS)


@dataclass
class World:
    db_url: str
    tokens: dict[str, str] = field(default_factory=dict)
    providers: dict[str, int] = field(default_factory=dict)
    cases: dict[str, list[int]] = field(default_factory=dict)  # provider key -> case ids
    secrets: dict[str, list[str]] = field(default_factory=dict)  # key -> urls/hosts/ips

    def visible(self, key: str) -> list[int]:
        """Gamma has no verified asset and is not manual: it sees none of its own cases."""
        return [] if key == "gamma" else self.cases[key]

    def other_secrets(self, key: str) -> list[str]:
        return [s for k, v in self.secrets.items() if k != key for s in v]

    def all_identifiers(self) -> list[str]:
        return [s for v in self.secrets.values() for s in v]


def _url(session, text: str, host: str) -> int:
    uid = url_id(text)
    session.add(
        Url(id=uid, url=text, scheme="http", host=host, host_type="domain", first_seen_at=T0)
    )
    session.flush()
    return uid


def _case(
    session,
    key: str,
    provider_id: int,
    url_text: str,
    host: str,
    ip: str,
    asn: int,
    *,
    removed_after: timedelta | None,
    classification: str = "csam",
    n: int = 0,
    contact_id: int | None = None,
) -> Case:
    uid = _url(session, url_text, host)
    session.add(
        Notice(
            notice_key=f"{key}-{n}-{uid}",
            url_id=uid,
            source="hotline",
            format="csv",
            reference=f"ref-{key}-{n}",
            classification=classification,
            received_at=T0,
            raw=url_text,
        )
    )
    session.flush()
    att = Attribution(
        url_id=uid,
        at=T0,
        computed_at=T0,
        status="ok",
        host=host,
        ips=[ip],
        ip=ip,
        prefix=ip.rsplit(".", 1)[0] + ".0/24",
        origin_asn=asn,
        origin_asns=[asn],
        as_name=f"AS-{key}",
        as_org=f"{key} org",
        provider_id=provider_id,
        country="NL",
        abuse_contact=f"abuse@{host}",
    )
    session.add(att)
    session.flush()
    first = T0 + timedelta(hours=1)
    removed = first + removed_after if removed_after is not None else None
    case = Case(
        url_id=uid,
        party_key=f"provider:{provider_id}",
        provider_id=provider_id,
        attribution_id=att.id,
        classification=classification,
        state="new",
        state_since=T0,
        opened_at=T0,
        first_message_at=first,
        last_message_at=first,
        messages_sent=1,
        last_online_at=first,
        removed_at=removed,
        country="NL",
    )
    session.add(case)
    session.flush()
    transition(session, case, "notified", at=first, reason="notice sent")
    transition(session, case, "reachable", at=first + timedelta(hours=2), reason="check: online")
    if removed is not None:
        transition(session, case, "removed", at=removed, reason="3 failed checks")
    msg = Message(
        ticket=f"T-{case.id}",
        contact_id=contact_id,
        to_address=f"abuse@{host}",
        kind="notice",
        subject=f"Notice for case {case.id}",
        body="...",
        created_at=first,
        message_id_header=f"<{case.id}@hostwatch.invalid>",
    )
    session.add(msg)
    session.flush()
    session.add(MessageCase(message_id=msg.id, case_id=case.id))
    session.add(Delivery(message_id=msg.id, attempted_at=first, transport="outbox", outcome="sent"))
    for hours in (2, 30):
        session.add(
            Check(
                url_id=uid,
                case_id=case.id,
                checked_at=first + timedelta(hours=hours),
                outcome="ok",
                online=True,
                http_status=200,
            )
        )
    return case


def build_world(db_url: str) -> World:
    world = World(db_url)
    with session_scope(db_url) as s:
        alpha_desk = add_contact(
            s,
            ContactSpec(name="Alpha Hosting", network="192.0.2.0/24", email="abuse@alpha.example"),
            now=T0,
            rules=LAB,
        )
        verify(s, "Alpha Hosting", [("prefix", "192.0.2.0/24")], now=T0, rules=LAB)
        for name in ("Beta Networks", XSS_NAME):
            s.add(Provider(name=name, source="auto", created_at=T0, updated_at=T0))
        s.flush()
        verify(s, "Beta Networks", [("asn", "AS64501")], now=T0, rules=LAB)
        ids = {p.name: p.id for p in s.query(Provider)}
        world.providers = {
            "alpha": ids["Alpha Hosting"],
            "beta": ids["Beta Networks"],
            "gamma": ids[XSS_NAME],
        }
        a1 = _case(
            s,
            "alpha",
            ids["Alpha Hosting"],
            XSS_URL,
            "alpha.example",
            "192.0.2.10",
            64500,
            removed_after=None,
            contact_id=alpha_desk.id,
        )
        a2 = _case(
            s,
            "alpha",
            ids["Alpha Hosting"],
            "http://files.alpha.example/x.zip",
            "files.alpha.example",
            "192.0.2.11",
            64500,
            removed_after=timedelta(hours=5),
            classification=FORMULA,
            n=1,
            contact_id=alpha_desk.id,
        )
        b1 = _case(
            s,
            "beta",
            ids["Beta Networks"],
            "http://beta-host.example/p",
            "beta-host.example",
            "198.51.100.5",
            64501,
            removed_after=timedelta(hours=40),
        )
        g1 = _case(
            s,
            "gamma",
            ids[XSS_NAME],
            "http://gamma-host.example/q",
            "gamma-host.example",
            "203.0.113.5",
            64502,
            removed_after=None,
        )
        world.cases = {"alpha": [a1.id, a2.id], "beta": [b1.id], "gamma": [g1.id]}
        world.secrets = {
            "alpha": ["alpha.example", "192.0.2.10", "192.0.2.11"],
            "beta": ["beta-host.example", "198.51.100.5"],
            "gamma": ["gamma-host.example", "203.0.113.5"],
        }
        for role in ("admin", "analyst", "researcher", "regulator"):
            world.tokens[role] = create_token(s, role=role, now=T0, label=role).token
        world.tokens["alpha"] = create_token(
            s, role="provider", provider_name="Alpha Hosting", now=T0
        ).token
        world.tokens["beta"] = create_token(
            s, role="provider", provider_name="Beta Networks", now=T0
        ).token
        world.tokens["gamma"] = create_token(
            s, role="provider", provider_name=XSS_NAME, now=T0
        ).token
    return world
