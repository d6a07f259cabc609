"""The ends of a case's life: closing after the watch, late contacts, the long-running loop."""

from __future__ import annotations

from datetime import timedelta

import pytest
from ntd_servers import T0, Site, read_outbox, seed_notice
from sqlalchemy import func, select

from hostwatch.attribution.assets import AssetRules
from hostwatch.clock import Clock
from hostwatch.model.case import Case
from hostwatch.model.check import Check
from hostwatch.model.db import session_scope
from hostwatch.model.party import Contact
from hostwatch.model.url import Url
from hostwatch.settings import Settings, configure
from hostwatch.takedown import workflow
from hostwatch.takedown.checker import CheckSession, Politeness
from hostwatch.takedown.contacts import ContactSpec, add_contact, import_automatic
from hostwatch.takedown.scheduler import run_forever
from hostwatch.takedown.workflow import earliest_due, run_pass

POLITE = Politeness(per_host=8, min_interval=0)

LAB = AssetRules.allowing(["127.0.0.0/8"])  # the tests' hosters live on loopback


@pytest.fixture
def local(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("HOSTWATCH_ALLOW_NETWORKS", "127.0.0.0/8")
    return configure()


def test_removed_url_is_watched_then_closed(local: Settings, web: tuple[Site, str]) -> None:
    site, base = web
    with session_scope(local.database_url) as session:
        hoster = add_contact(
            session,
            ContactSpec(name="H", network="127.0.0.0/8", email="a@h.test"),
            now=T0,
            rules=LAB,
        )
        seed_notice(
            session,
            f"{base}/gone",
            received_at=T0 - timedelta(hours=6),
            provider_id=hoster.provider_id,
        )
    site.status["/gone"] = 200  # seen online once: only a URL seen online can be removed
    clock = Clock.at(T0)
    seen = []
    for step in [-6, 0, 1, 2, *range(24, 24 * 32, 24)]:
        clock.set(T0 + timedelta(hours=step))
        run_pass(local, clock, politeness=POLITE)
        site.status["/gone"] = 404
        with session_scope(local.database_url) as session:
            seen.append((step, session.scalar(select(Case.state))))
    assert seen[3] == (2, "removed")
    closed_at = next(step for step, state in seen if state == "closed")
    assert closed_at == 24 * 30  # the first watch check 30 days after removal (at 0 h)
    # three confirming checks, then a watch check at every daily pass (due every 6 h)
    assert len(site.requests) == 1 + 3 + 30


def test_contact_added_after_the_case_was_opened(local: Settings, web: tuple[Site, str]) -> None:
    site, base = web
    site.status["/p"] = 200
    with session_scope(local.database_url) as session:
        seed_notice(session, f"{base}/p", received_at=T0, provider_id=None)
    run_pass(local, Clock.at(T0), politeness=POLITE)
    assert read_outbox(local.outbox_dir) == []
    with session_scope(local.database_url) as session:
        add_contact(
            session,
            ContactSpec(name="H", network="127.0.0.0/8", email="a@h.test"),
            now=T0,
            rules=LAB,
        )
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
            session,
            ContactSpec(name="Desk", network="127.0.0.1/32", email="desk@h.test"),
            now=T0,
            rules=LAB,
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
            session,
            ContactSpec(name="H", network="127.0.0.0/8", email="a@h.test"),
            now=T0,
            rules=LAB,
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


def test_passes_sharing_a_check_session_record_every_verdict_in_batches(
    local: Settings, web: tuple[Site, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    site, base = web
    monkeypatch.setattr(workflow, "RECORD_BATCH", 2)  # five results: batches of 2, 2 and 1
    with session_scope(local.database_url) as session:
        hoster = add_contact(
            session,
            ContactSpec(name="H", network="127.0.0.0/8", email="a@h.test"),
            now=T0,
            rules=LAB,
        )
        for n in range(5):
            site.status[f"/p{n}"] = 200
            seed_notice(
                session,
                f"{base}/p{n}",
                received_at=T0 - timedelta(hours=6),
                provider_id=hoster.provider_id,
            )
    clock = Clock.at(T0)
    checked = []
    with CheckSession(local, politeness=POLITE) as checks:
        for step in (-6, 0, 1, 2):
            clock.set(T0 + timedelta(hours=step))
            checked.append(run_pass(local, clock, checks=checks).checked)
            for n in range(2, 5):  # seen online once, then gone: only then can it be removed
                site.status[f"/p{n}"] = 404
    with session_scope(local.database_url) as session:
        states = {
            url: state
            for url, state in session.execute(
                select(Url.url, Case.state).join(Url, Url.id == Case.url_id)
            )
        }
        checks_made = session.scalar(select(func.count()).select_from(Check))
    # the online URLs are due again only after the check interval, the offline ones at once
    assert checked == [5, 5, 3, 3]
    assert states == {f"{base}/p{n}": "reachable" if n < 2 else "removed" for n in range(5)}
    assert checks_made == len(site.requests) == 16


def test_next_due_counts_only_what_a_pass_would_act_on(local: Settings) -> None:
    with session_scope(local.database_url) as session:
        hoster = add_contact(
            session,
            ContactSpec(name="H", network="127.0.0.0/8", email="a@h.test"),
            now=T0,
            rules=LAB,
        )
        for n in range(3):
            seed_notice(
                session, f"http://127.0.0.1/p{n}", received_at=T0, provider_id=hoster.provider_id
            )
    run_pass(local, Clock.at(T0), politeness=POLITE)  # opens the three cases
    with session_scope(local.database_url) as session:
        pending, held, watched = session.scalars(select(Case).order_by(Case.id)).all()
        # offline-pending keeps its re-notice time, but no pass re-notices it in that state
        pending.state, pending.next_message_at = "offline-pending", T0 + timedelta(hours=1)
        pending.next_check_at = T0 + timedelta(hours=5)
        held.held, held.next_message_at = True, T0 + timedelta(hours=2)
        held.next_check_at = T0 + timedelta(hours=2)
        watched.next_message_at, watched.next_check_at = None, T0 + timedelta(hours=4)
    with session_scope(local.database_url) as session:
        assert earliest_due(session) == T0 + timedelta(hours=4)
