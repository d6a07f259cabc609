"""A replayed week of notice and takedown against real loopback servers, pass by pass.

Three URLs on one hoster. B goes away after 5 h and comes back after 79 h; C is away for a few
hours (too short to count as removed), then goes for good after 49 h; A stays until 95 h and is
escalated to the upstream and then the authority. Passes run every hour of the clock.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from ntd_servers import HOSTER, LADDER, POLICE, T0, UPSTREAM, Inbox, Site, seed_notice
from sqlalchemy import select

from hostwatch.attribution.assets import AssetRules
from hostwatch.clock import Clock
from hostwatch.metrics.case_list import case_rows
from hostwatch.model.audit import AuditEvent
from hostwatch.model.audit_verify import verify_log
from hostwatch.model.case import Case
from hostwatch.model.check import Check
from hostwatch.model.db import session_scope
from hostwatch.model.message import Delivery, Message
from hostwatch.settings import Settings
from hostwatch.takedown.checker import Politeness
from hostwatch.takedown.contacts import ContactSpec, add_contact
from hostwatch.takedown.policy import load_policy
from hostwatch.takedown.workflow import run_pass

POLICY = "[default]\nwatch_days = 30\nwatch_hours = 24\n" + LADDER

LAB = AssetRules.allowing(["127.0.0.0/8"])  # the tests' hosters live on loopback


def _timeline(site: Site, hour: float) -> None:
    site.status["/a"] = 200 if hour < 95 else 404
    site.status["/b"] = 200 if hour < 5 or hour >= 79 else 404
    site.status["/c"] = 200 if hour < 10 or 13.5 <= hour < 49 else 410


def _urls(inbox: Inbox, address: str) -> list[list[str]]:
    """Per mail to ``address``, the URL paths its X-ARF attachments name."""
    import json

    out = []
    for mail in inbox.to(address):
        paths = []
        for part in mail.iter_attachments():
            if not part.get_filename().startswith("xarf-"):
                continue  # a referral's evidence
            report = json.loads(part.get_content())
            paths.append(report["url"].rsplit("/", 1)[1])
        out.append(sorted(paths))
    return out


def test_replayed_week(
    wf_settings: Settings, web: tuple[Site, str], smtp: tuple[Inbox, str], tmp_path: Path
) -> None:
    site, base = web
    inbox, _ = smtp
    policy_file = tmp_path / "policy.toml"
    policy_file.write_text(POLICY)
    policy = load_policy(wf_settings, policy_file)
    with session_scope(wf_settings.database_url) as session:
        hoster = add_contact(
            session,
            ContactSpec(name="Hoster BV", network="127.0.0.0/8", email=HOSTER),
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
        add_contact(session, ContactSpec(name="Police", role="authority", email=POLICE), now=T0)
        for path in ("a", "b", "c"):
            seed_notice(session, f"{base}/{path}", received_at=T0, provider_id=hoster.provider_id)

    clock = Clock.at(T0)
    polite = Politeness(per_host=8, min_interval=0)
    for hour in range(0, 99):
        clock.set(T0 + timedelta(hours=hour))
        _timeline(site, hour)
        run_pass(wf_settings, clock, policy=policy, politeness=polite)

    assert _urls(inbox, HOSTER) == [["a", "b", "c"], ["a", "c"], ["b"]]
    # the police get one referral about "a", not the daily re-notice; the upstream is still
    # notified while "a" stays up
    assert _urls(inbox, UPSTREAM) == [["a", "c"], ["a"], ["a"]]
    assert _urls(inbox, POLICE) == [["a"]]
    assert len(set(inbox.tickets())) == len(inbox.mails) == 7

    with session_scope(wf_settings.database_url) as session:
        sent = {
            m.ticket: (m.created_at, m.kind, m.escalation_level)
            for m in session.scalars(select(Message))
        }
        by_mail = [sent[str(mail["X-Hostwatch-Ticket"])] for mail in inbox.mails]
        hours = [(at - T0) / timedelta(hours=1) for at, _, _ in by_mail]
        assert hours == [0, 24, 48, 72, 72, 80, 96]
        assert [kind for _, kind, _ in by_mail] == [
            "notice",
            "renotice",
            "escalation",
            "renotice",
            "referral",
            "reappeared",
            "renotice",
        ]
        assert [level for _, _, level in by_mail] == [0, 0, 1, 1, 2, 0, 1]
        assert session.scalar(select(Delivery.outcome).distinct()) == "sent"
        rows = {row["url"].rsplit("/", 1)[1]: row for row in case_rows(session)}
        assert rows["a"]["state"] == "removed"
        assert rows["a"]["removed_at"] == (T0 + timedelta(hours=96)).isoformat()
        assert rows["a"]["takedown_seconds"] == 96 * 3600
        assert rows["a"]["escalation_level"] == 2
        assert rows["b"]["state"] == "reachable"
        assert rows["b"]["removed_at"] is None
        assert rows["c"]["state"] == "removed"
        assert rows["c"]["takedown_seconds"] == 50 * 3600
        assert {row["first_message_at"] for row in rows.values()} == {T0.isoformat()}
        assert {row["provider"] for row in rows.values()} == {"Hoster BV"}

        case_b = session.scalar(select(Case).where(Case.id == rows["b"]["id"]))
        actions = [
            (e.action, (e.at - T0) / timedelta(hours=1))
            for e in session.scalars(
                select(AuditEvent)
                .where(AuditEvent.object_type == "case", AuditEvent.object_id == str(case_b.id))
                .order_by(AuditEvent.id)
            )
        ]
        assert actions == [
            ("case.new", 0),
            ("case.notified", 0),
            ("case.reachable", 0),
            ("case.offline-pending", 6),
            ("case.removed", 8),
            ("case.reappeared", 80),
            ("case.notified", 80),
            ("case.reachable", 86),
        ]
        c_checks = session.scalars(
            select(Check.checked_at, Check.online)
            .where(Check.case_id == rows["c"]["id"])
            .order_by(Check.checked_at)
        ).all()
        assert c_checks
        assert verify_log(session, None).problems == []


@pytest.mark.parametrize("offline_after", [1, 3])
def test_offline_after_setting(
    wf_settings: Settings,
    web: tuple[Site, str],
    monkeypatch: pytest.MonkeyPatch,
    offline_after: int,
) -> None:
    from hostwatch.settings import configure

    monkeypatch.setenv("HOSTWATCH_OFFLINE_AFTER", str(offline_after))
    settings = configure()
    site, base = web
    early = T0 - timedelta(hours=6)
    with session_scope(settings.database_url) as session:
        hoster = add_contact(
            session,
            ContactSpec(name="H", network="127.0.0.0/8", email=HOSTER),
            now=early,
            rules=LAB,
        )
        seed_notice(session, f"{base}/gone", received_at=early, provider_id=hoster.provider_id)
    clock = Clock.at(early)
    polite = Politeness(per_host=8, min_interval=0)
    site.status["/gone"] = 200  # seen online once: only a URL seen online can be removed
    run_pass(settings, clock, politeness=polite)
    site.status["/gone"] = 404
    states = []
    for minutes in (0, 30, 60, 90, 120):
        clock.set(T0 + timedelta(minutes=minutes))
        run_pass(settings, clock, politeness=polite)
        with session_scope(settings.database_url) as session:
            states.append(session.scalar(select(Case.state)))
    if offline_after == 1:
        assert states == ["removed"] * 5
    else:
        # failed checks only count when an hour apart: at 0, 60 and 120 minutes
        assert states == ["offline-pending"] * 4 + ["removed"]
