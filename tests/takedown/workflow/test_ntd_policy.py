"""Policy as data: sending windows, grouping, police route, do-not-notify, moved cases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path

import pytest
from ntd_servers import T0, Site, read_outbox, seed_notice
from sqlalchemy import select

from hostwatch.attribution.assets import AssetRules
from hostwatch.clock import Clock
from hostwatch.model.audit import AuditEvent
from hostwatch.model.case import Case
from hostwatch.model.db import session_scope
from hostwatch.model.message import Message
from hostwatch.settings import Settings, configure
from hostwatch.takedown.cases import release
from hostwatch.takedown.checker import Politeness
from hostwatch.takedown.contacts import ContactSpec, add_contact
from hostwatch.takedown.policy import PolicyError, load_policy
from hostwatch.takedown.states import IllegalTransition, transition
from hostwatch.takedown.workflow import run_pass

POLITE = Politeness(per_host=8, min_interval=0)
WINDOW = """
[default]
[default.window]
timezone = "Europe/Amsterdam"
hours = "09:00-17:00"
blocked_days = ["sat", "sun"]
"""

LAB = AssetRules.allowing(["127.0.0.0/8"])  # the tests' hosters live on loopback


@pytest.fixture
def local(settings: Settings) -> Settings:
    return configure(allow_networks="127.0.0.0/8")


def _passes(settings: Settings, times: list[datetime], policy_file: Path | None = None) -> None:
    policy = load_policy(settings, policy_file)
    clock = Clock.at(times[0])
    for instant in times:
        clock.set(instant)
        run_pass(settings, clock, policy=policy, politeness=POLITE)


def _messages(settings: Settings) -> list[tuple[datetime, str, str]]:
    with session_scope(settings.database_url) as session:
        return [
            (m.created_at, m.to_address, m.kind)
            for m in session.scalars(select(Message).order_by(Message.id))
        ]


def test_sending_window_shifts_messages_and_the_clock_starts_at_sending(
    local: Settings, web: tuple[Site, str], tmp_path: Path
) -> None:
    site, base = web
    site.status["/p"] = 200
    policy = tmp_path / "policy.toml"
    policy.write_text(WINDOW)
    friday_evening = datetime(2024, 3, 1, 18, 0, tzinfo=UTC)  # 19:00 in Amsterdam
    with session_scope(local.database_url) as session:
        hoster = add_contact(
            session,
            ContactSpec(name="H", network="127.0.0.0/8", email="a@h.test"),
            now=T0,
            rules=LAB,
        )
        seed_notice(
            session, f"{base}/p", received_at=friday_evening, provider_id=hoster.provider_id
        )
    monday_open = datetime(2024, 3, 4, 8, 0, tzinfo=UTC)  # 09:00 in Amsterdam
    hours = [friday_evening + timedelta(hours=h) for h in range(0, 24 * 4, 1)]
    _passes(local, hours, policy)
    sent = _messages(local)
    assert [(at, kind) for at, _, kind in sent] == [
        (monday_open, "notice"),
        (monday_open + timedelta(hours=24), "renotice"),
    ]


def test_grouping_interval_batches_a_contact(local: Settings, web: tuple[Site, str]) -> None:
    site, base = web
    for path in ("/1", "/2", "/3"):
        site.status[path] = 200
    with session_scope(local.database_url) as session:
        hoster = add_contact(
            session,
            ContactSpec(name="H", network="127.0.0.0/8", email="a@h.test", group_interval_hours=6),
            now=T0,
            rules=LAB,
        )
        seed_notice(session, f"{base}/1", received_at=T0, provider_id=hoster.provider_id)
    _passes(local, [T0])
    with session_scope(local.database_url) as session:
        for path in ("2", "3"):
            seed_notice(
                session,
                f"{base}/{path}",
                received_at=T0 + timedelta(hours=1),
                provider_id=hoster.provider_id,
            )
    _passes(local, [T0 + timedelta(hours=h) for h in range(1, 8)])
    sent = _messages(local)
    assert [at for at, _, _ in sent] == [T0, T0 + timedelta(hours=6)]
    mails = read_outbox(local.outbox_dir)
    assert sorted(len(list(m.iter_attachments())) for m in mails) == [1, 2]


def test_police_route_and_do_not_notify(local: Settings, web: tuple[Site, str]) -> None:
    site, base = web
    site.status["/bad"] = 200
    site.status["/quiet"] = 200
    with session_scope(local.database_url) as session:
        bad = add_contact(
            session,
            ContactSpec(name="Bad", network="127.0.0.0/24", email="a@bad.test", police_route=True),
            now=T0,
            rules=LAB,
        )
        quiet = add_contact(
            session,
            ContactSpec(name="Quiet", network="127.0.1.0/24", email="a@q.test", do_not_notify=True),
            now=T0,
            rules=LAB,
        )
        add_contact(
            session, ContactSpec(name="Police", role="authority", email="p@pol.test"), now=T0
        )
        seed_notice(session, f"{base}/bad", received_at=T0, provider_id=bad.provider_id)
        seed_notice(
            session,
            f"{base.replace('127.0.0.1', '127.0.1.1')}/quiet",
            received_at=T0,
            provider_id=quiet.provider_id,
            ip="127.0.1.1",
        )
    _passes(local, [T0])
    assert [(to, kind) for _, to, kind in _messages(local)] == [("p@pol.test", "referral")]
    with session_scope(local.database_url) as session:
        cases = {c.contact_id: c for c in session.scalars(select(Case))}
        assert cases[bad.id].state == "escalated"
        assert cases[quiet.id].first_message_at is None  # its server is down: checked, not told


def test_moved_case_is_held_and_a_new_case_opened(local: Settings, web: tuple[Site, str]) -> None:
    site, base = web
    site.status["/m"] = 200
    with session_scope(local.database_url) as session:
        old = add_contact(
            session,
            ContactSpec(name="Old", network="127.0.0.0/24", email="a@old.test"),
            now=T0,
            rules=LAB,
        )
        new = add_contact(
            session,
            ContactSpec(name="New", network="127.0.2.0/24", email="a@new.test"),
            now=T0,
            rules=LAB,
        )
        seed_notice(session, f"{base}/m", received_at=T0, provider_id=old.provider_id)
    _passes(local, [T0])
    later = T0 + timedelta(hours=3)
    with session_scope(local.database_url) as session:
        # the routing data now gives the same address to another hoster
        seed_notice(session, f"{base}/m", received_at=later, provider_id=new.provider_id)
    _passes(local, [later, later + timedelta(hours=30)])
    with session_scope(local.database_url) as session:
        cases = {c.provider_id: c for c in session.scalars(select(Case))}
        held = cases[old.provider_id]
        assert (held.state, held.held) == ("moved", True)
        assert "hoster changed" in (held.hold_reason or "")
        assert cases[new.provider_id].state in ("reachable", "notified")
        release(session, held, now=later + timedelta(hours=31), reason="checked", actor="analyst")
        assert held.state == "notified" and not held.held
    to = [to for _, to, _ in _messages(local)]
    assert to.count("a@old.test") == 1  # nothing more to the old hoster while held
    assert to.count("a@new.test") == 2


def test_transitions_are_checked_and_audited(local: Settings, web: tuple[Site, str]) -> None:
    site, base = web
    site.status["/t"] = 200
    with session_scope(local.database_url) as session:
        hoster = add_contact(
            session,
            ContactSpec(name="H", network="127.0.0.0/8", email="a@h.test"),
            now=T0,
            rules=LAB,
        )
        seed_notice(session, f"{base}/t", received_at=T0, provider_id=hoster.provider_id)
    _passes(local, [T0])
    with session_scope(local.database_url) as session:
        case = session.scalar(select(Case))
        with pytest.raises(IllegalTransition, match="reachable -> new"):
            transition(session, case, "new", at=T0, reason="test")
        events = session.scalars(
            select(AuditEvent).where(AuditEvent.object_type == "case").order_by(AuditEvent.id)
        ).all()
        assert [(e.action, e.at, bool(e.reason)) for e in events] == [
            ("case.new", T0, True),
            ("case.notified", T0, True),
            ("case.reachable", T0, True),
        ]


def test_policy_errors_name_the_file_and_key(local: Settings, tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[[default.ladder]]\nrole = "cousin"\n')
    with pytest.raises(PolicyError, match=r"bad\.toml.*ladder\[0\]\.role"):
        load_policy(local, bad)
    zone = tmp_path / "zone.toml"
    zone.write_text('[country.NL.window]\ntimezone = "Mars/Olympus"\n')
    with pytest.raises(PolicyError, match="Mars/Olympus"):
        load_policy(local, zone)


def test_renotice_hours_setting_and_country_override(
    local: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOSTWATCH_RENOTICE_HOURS", "12")
    settings = configure(allow_networks="127.0.0.0/8")
    policy_file = tmp_path / "p.toml"
    policy_file.write_text("[country.NL]\nrenotice_hours = 6\n")
    policy = load_policy(settings, policy_file)
    assert policy.rules_for("csam", "DE").renotice_hours == 12
    assert policy.rules_for("csam", "NL").renotice_hours == 6
    shipped = load_policy(settings)
    assert [s.role for s in shipped.rules_for("csam", None).ladder][-1] == "authority"


def test_a_check_answering_from_another_hosters_network_holds_the_case(local: Settings) -> None:
    from ntd_servers import serve

    site = Site()
    site.status["/x"] = 200
    with serve(site, "127.0.2.1") as base, session_scope(local.database_url) as session:
        old = add_contact(
            session,
            ContactSpec(name="Old", network="127.0.0.0/24", email="a@old.test"),
            now=T0,
            rules=LAB,
        )
        add_contact(
            session,
            ContactSpec(name="New", network="127.0.2.0/24", email="a@new.test"),
            now=T0,
            rules=LAB,
        )
        # attributed at notice time to 127.0.0.1; the host now answers from 127.0.2.1
        seed_notice(session, f"{base}/x", received_at=T0, provider_id=old.provider_id)
        session.commit()
        _passes(local, [T0])
    with session_scope(local.database_url) as session:
        case = session.scalar(select(Case))
        assert (case.state, case.held) == ("moved", True)
        assert "127.0.2.1" in (case.hold_reason or "") and "New" in (case.hold_reason or "")


def test_long_lived_urls_are_checked_at_the_slower_pace(
    local: Settings, web: tuple[Site, str], tmp_path: Path
) -> None:
    from hostwatch.model.check import Check

    site, base = web
    site.status["/stays"] = 200
    policy = tmp_path / "slow.toml"
    policy.write_text("[default]\nlong_lived_days = 2\nlong_lived_check_hours = 24\n")
    with session_scope(local.database_url) as session:
        hoster = add_contact(
            session,
            ContactSpec(name="H", network="127.0.0.0/8", email="a@h.test"),
            now=T0,
            rules=LAB,
        )
        seed_notice(session, f"{base}/stays", received_at=T0, provider_id=hoster.provider_id)
    _passes(local, [T0 + timedelta(hours=h) for h in range(0, 24 * 5)], policy)
    with session_scope(local.database_url) as session:
        checked = list(session.scalars(select(Check.checked_at).order_by(Check.checked_at)))
    gaps = {(b - a) for a, b in pairwise(checked)}
    assert checked[0] == T0
    early = [t for t in checked if t - T0 < timedelta(days=2)]
    assert len(early) == 8  # every 6 hours while the case is young
    assert [t - T0 for t in checked if t - T0 >= timedelta(days=2)] == [
        timedelta(days=2), timedelta(days=3), timedelta(days=4)
    ]  # fmt: skip
    assert gaps <= {timedelta(hours=6), timedelta(hours=24)}


def test_long_lived_keys_must_be_positive(local: Settings, tmp_path: Path) -> None:
    bad = tmp_path / "neg.toml"
    bad.write_text("[default]\nlong_lived_days = -1\nlong_lived_check_hours = 24\n")
    with pytest.raises(PolicyError, match=r"neg\.toml.*long_lived_days"):
        load_policy(local, bad)
