"""The ends of a case's life: closing after the watch, late contacts, the long-running loop."""

from __future__ import annotations

from datetime import timedelta

import pytest
from ntd_servers import T0, Site, read_outbox, seed_notice
from sqlalchemy import select

from hostwatch.clock import Clock
from hostwatch.model.case import Case
from hostwatch.model.db import session_scope
from hostwatch.model.party import Contact
from hostwatch.settings import Settings, configure
from hostwatch.takedown.checker import Politeness
from hostwatch.takedown.contacts import ContactSpec, add_contact, import_automatic
from hostwatch.takedown.scheduler import run_forever
from hostwatch.takedown.workflow import run_pass

POLITE = Politeness(per_host=8, min_interval=0)


@pytest.fixture
def local(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("HOSTWATCH_ALLOW_NETWORKS", "127.0.0.0/8")
    return configure()


def test_removed_url_is_watched_then_closed(local: Settings, web: tuple[Site, str]) -> None:
    site, base = web
    with session_scope(local.database_url) as session:
        hoster = add_contact(
            session, ContactSpec(name="H", network="127.0.0.0/8", email="a@h.test"), now=T0
        )
        seed_notice(session, f"{base}/gone", received_at=T0, provider_id=hoster.provider_id)
    clock = Clock.at(T0)
    seen = []
    for step in [0, 1, 2, *range(24, 24 * 32, 24)]:
        clock.set(T0 + timedelta(hours=step))
        run_pass(local, clock, politeness=POLITE)
        with session_scope(local.database_url) as session:
            seen.append((step, session.scalar(select(Case.state))))
    assert seen[2] == (2, "removed")
    closed_at = next(step for step, state in seen if state == "closed")
    assert closed_at == 24 * 30  # the first watch check 30 days after removal (at 0 h)
    # three confirming checks, then a watch check at every daily pass (due every 6 h)
    assert len(site.requests) == 3 + 30


def test_contact_added_after_the_case_was_opened(local: Settings, web: tuple[Site, str]) -> None:
    site, base = web
    site.status["/p"] = 200
    with session_scope(local.database_url) as session:
        seed_notice(session, f"{base}/p", received_at=T0, provider_id=None)
    run_pass(local, Clock.at(T0), politeness=POLITE)
    assert read_outbox(local.outbox_dir) == []
    with session_scope(local.database_url) as session:
        add_contact(session, ContactSpec(name="H", network="127.0.0.0/8", email="a@h.test"), now=T0)
    run_pass(local, Clock.at(T0 + timedelta(hours=24)), politeness=POLITE)
    assert [m["To"] for m in read_outbox(local.outbox_dir)] == ["a@h.test"]


def test_automatic_contacts_from_attributions_and_manual_ones_win(
    local: Settings, web: tuple[Site, str]
) -> None:
    site, base = web
    site.status["/p"] = 200
    with session_scope(local.database_url) as session:
        seed_notice(session, f"{base}/p", received_at=T0, provider_id=None, abuse="ABUSE@auto.test")
        assert import_automatic(session, now=T0) == 1
        assert import_automatic(session, now=T0) == 1  # refreshed, not duplicated
        auto = session.scalars(select(Contact)).all()
        assert [(c.email, c.source) for c in auto] == [("abuse@auto.test", "auto")]
    run_pass(local, Clock.at(T0), politeness=POLITE)
    with session_scope(local.database_url) as session:
        add_contact(
            session, ContactSpec(name="Desk", network="127.0.0.1/32", email="desk@h.test"), now=T0
        )
        seed_notice(session, f"{base}/q", received_at=T0, provider_id=None, abuse="abuse@auto.test")
    site.status["/q"] = 200
    run_pass(local, Clock.at(T0 + timedelta(hours=1)), politeness=POLITE)
    sent = sorted((m["Date"], m["To"]) for m in read_outbox(local.outbox_dir))
    assert [to for _, to in sent] == ["abuse@auto.test", "desk@h.test"]


def test_long_running_loop_makes_passes_until_stopped(
    local: Settings, web: tuple[Site, str]
) -> None:
    site, base = web
    site.status["/p"] = 200
    with session_scope(local.database_url) as session:
        hoster = add_contact(
            session, ContactSpec(name="H", network="127.0.0.0/8", email="a@h.test"), now=T0
        )
        seed_notice(session, f"{base}/p", received_at=T0, provider_id=hoster.provider_id)
    reports = []
    run_forever(
        local,
        Clock.at(T0, running=True),
        on_pass=reports.append,
        should_stop=lambda: len(reports) >= 2,
        max_sleep=1.0,
    )
    assert [r.delivered.sent for r in reports] == [1, 0]
    assert reports[0].checked == 1
