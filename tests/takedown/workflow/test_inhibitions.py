"""Do-not-notify rules: they keep notices back while live, say why on the case, and end.

On SQLite and PostgreSQL, through the real planning pass and the command line.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from ntd_servers import T0, Site, seed_notice
from sqlalchemy import func, select
from typer.testing import CliRunner

from hostwatch.attribution.assets import AssetRules
from hostwatch.cli.app import app as cli
from hostwatch.clock import Clock
from hostwatch.model.attribution import Attribution
from hostwatch.model.audit import AuditEvent
from hostwatch.model.case import Case
from hostwatch.model.db import session_scope
from hostwatch.model.message import Message
from hostwatch.settings import Settings
from hostwatch.takedown.cases import open_cases
from hostwatch.takedown.contacts import ContactSpec, add_contact
from hostwatch.takedown.inhibitions import (
    InhibitionError,
    add_inhibition,
    list_inhibitions,
    remove_inhibition,
)
from hostwatch.takedown.notify import plan_messages
from hostwatch.takedown.policy import load_policy

LAB = AssetRules.allowing(["127.0.0.0/8"])
WEEK = timedelta(days=7)


def _world(settings: Settings, base: str) -> None:
    """Two cases at one hoster: a CSAM one at 127.0.0.1 (AS64500), a phishing one at .2."""
    with session_scope(settings.database_url) as session:
        hoster = add_contact(
            session,
            ContactSpec(name="Hoster", network="127.0.0.0/8", email="abuse@hoster.test"),
            now=T0,
            rules=LAB,
        )
        seed_notice(session, f"{base}/a", received_at=T0, provider_id=hoster.provider_id)
        seed_notice(
            session,
            "http://127.0.0.2/b",
            received_at=T0,
            provider_id=hoster.provider_id,
            ip="127.0.0.2",
            classification="phishing",
        )
        for attribution in session.scalars(select(Attribution)):
            attribution.origin_asn = 64500 if attribution.ip == "127.0.0.1" else 64501
    with session_scope(settings.database_url) as session:
        open_cases(session, now=T0)


def _plan(settings: Settings, at) -> list[str]:  # type: ignore[no-untyped-def]
    """The URLs of the cases the messages planned at ``at`` cover."""
    with session_scope(settings.database_url) as session:
        ids = plan_messages(session, settings, load_policy(settings), at)
        return sorted(
            report["url"]
            for m in session.scalars(select(Message).where(Message.id.in_(ids)))
            for report in (m.xarf or {}).get("reports", [])
        )


def _rule(settings: Settings, kind: str, value: str, until=T0 + WEEK) -> int:  # type: ignore[no-untyped-def]
    with session_scope(settings.database_url) as session:
        return add_inhibition(
            session,
            kind=kind,
            value=value,
            reason=f"{kind} under investigation by the police",
            expires_at=until,
            actor="analyst:ana",
            now=T0,
        ).id


@pytest.mark.parametrize(
    ("kind", "value", "held"),
    [
        ("asn", "AS64500", "a"),
        ("prefix", "127.0.0.2/32", "b"),
        ("classification", "Phishing", "b"),
        ("provider", "Hoster", "both"),
    ],
)
def test_a_live_rule_keeps_matching_notices_back_until_it_expires(
    settings: Settings, web: tuple[Site, str], kind: str, value: str, held: str
) -> None:
    _, base = web
    _world(settings, base)
    urls = {"a": f"{base}/a", "b": "http://127.0.0.2/b"}
    _rule(settings, kind, value)
    sent = _plan(settings, T0)
    expected = [] if held == "both" else [urls["b" if held == "a" else "a"]]
    assert sent == expected
    with session_scope(settings.database_url) as session:
        events = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "case.inhibited")
        ).all()
        assert len(events) == (2 if held == "both" else 1)
        assert all(e.reason == f"{kind} under investigation by the police" for e in events)
        waiting = session.scalars(select(Case).where(Case.next_message_at.is_not(None))).all()
        assert {c.next_message_at for c in waiting} == {T0 + WEEK}
    assert _plan(settings, T0 + WEEK - timedelta(minutes=1)) == []  # nothing due before
    after = _plan(settings, T0 + WEEK)  # expired: the held notices go out
    assert after == sorted(urls.values() if held == "both" else [urls[held]])


def test_removing_a_rule_releases_its_cases_at_once_and_is_audited(
    settings: Settings, web: tuple[Site, str]
) -> None:
    _, base = web
    _world(settings, base)
    rule = _rule(settings, "asn", "64500")
    assert _plan(settings, T0) == ["http://127.0.0.2/b"]
    later = T0 + timedelta(hours=3)
    with session_scope(settings.database_url) as session:
        remove_inhibition(session, rule, actor="analyst:bo", now=later)
    assert _plan(settings, later) == [f"{base}/a"]
    with session_scope(settings.database_url) as session:
        actions = session.execute(
            select(AuditEvent.action, AuditEvent.actor)
            .where(AuditEvent.object_type == "inhibition")
            .order_by(AuditEvent.seq)
        ).all()
        assert [tuple(a) for a in actions] == [
            ("inhibition.added", "analyst:ana"),
            ("inhibition.removed", "analyst:bo"),
        ]
        (view,) = list_inhibitions(session, later, everything=True)
        assert (view.status, view.cases_held, view.value) == ("removed", 1, "AS64500")
        assert list_inhibitions(session, later) == []
        with pytest.raises(InhibitionError, match="no live inhibition"):
            remove_inhibition(session, rule, actor="analyst:bo", now=later)


def test_bad_rules_are_refused(settings: Settings) -> None:
    with session_scope(settings.database_url) as session:
        for kind, value, until, error in [
            ("asn", "AS-x", T0 + WEEK, "ASN"),
            ("prefix", "300.0.0.0/8", T0 + WEEK, "prefix"),
            ("provider", "Nobody Hosting", T0 + WEEK, "no provider"),
            ("colour", "red", T0 + WEEK, "kind"),
            ("asn", "AS1", T0, "future"),
        ]:
            with pytest.raises(InhibitionError, match=error):
                add_inhibition(
                    session,
                    kind=kind,
                    value=value,
                    reason="r",
                    expires_at=until,
                    actor="cli",
                    now=T0,
                )


def test_the_command_line_adds_lists_explains_and_removes(
    settings: Settings, web: tuple[Site, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, base = web
    _world(settings, base)
    monkeypatch.setattr(Settings, "clock", lambda self: Clock.at(T0))
    runner = CliRunner()
    added = runner.invoke(
        cli,
        [
            "inhibitions",
            "add",
            "--classification",
            "phishing",
            "--days",
            "3",
            "--reason",
            "phishing goes to the CERT, not to hosters",
        ],
    )
    assert added.exit_code == 0, added.output
    both = runner.invoke(
        cli,
        [
            "inhibitions",
            "add",
            "--asn",
            "1",
            "--prefix",
            "10.0.0.0/8",
            "--days",
            "1",
            "--reason",
            "x",
        ],
    )
    assert both.exit_code == 2 and "exactly one" in both.output
    listed = json.loads(runner.invoke(cli, ["inhibitions", "list", "--format", "json"]).output)
    assert [(r["kind"], r["value"], r["status"]) for r in listed] == [
        ("classification", "phishing", "live")
    ]
    assert listed[0]["expires_at"] == (T0 + timedelta(days=3)).isoformat().replace("+00:00", "Z")
    assert _plan(settings, T0) == [f"{base}/a"]
    with session_scope(settings.database_url) as session:
        phishing = session.scalar(select(Case.id).where(Case.classification == "phishing"))
        csam = session.scalar(select(Case.id).where(Case.classification == "csam"))
    why = runner.invoke(cli, ["inhibitions", "why", str(phishing)])
    assert "phishing goes to the CERT, not to hosters" in why.output
    assert (
        "no notice was ever inhibited"
        in runner.invoke(cli, ["inhibitions", "why", str(csam)]).output
    )
    assert runner.invoke(cli, ["inhibitions", "why", "999999"]).exit_code == 2
    removed = runner.invoke(cli, ["inhibitions", "remove", str(listed[0]["id"])])
    assert removed.exit_code == 0, removed.output
    assert runner.invoke(cli, ["inhibitions", "remove", str(listed[0]["id"])]).exit_code == 2
    assert _plan(settings, T0) == ["http://127.0.0.2/b"]
    with session_scope(settings.database_url) as session:
        assert session.scalar(select(func.count()).select_from(Message)) == 2
