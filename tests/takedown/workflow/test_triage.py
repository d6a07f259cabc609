"""Triage before notice, through the command line as an analyst uses it, on both databases.

Real intake files (an OpenPhish list: unassessed by default; the hotline's CSV: assessed), real
checks against a web server on loopback, real mail to an SMTP server on loopback.
"""

from __future__ import annotations

import json
from datetime import timedelta
from email.message import Message as EmailMessage
from pathlib import Path

import pytest
from ntd_servers import T0, Inbox, Site
from sqlalchemy import select
from typer.testing import CliRunner

from hostwatch.cli.app import app
from hostwatch.model.audit import AuditEvent
from hostwatch.model.audit_verify import verify_log
from hostwatch.model.case import Case
from hostwatch.model.check import Check
from hostwatch.model.db import session_scope
from hostwatch.model.triage import TriageVerdict
from hostwatch.settings import Settings
from hostwatch.takedown.triage import queue_figures

HOSTER = "abuse@example.net"


def _at(hours: float) -> str:
    return (T0 + timedelta(hours=hours)).isoformat().replace("+00:00", "Z")


class Desk:
    """The command line at pinned instants, with mail to the SMTP sink."""

    def __init__(self, smtp_url: str, folder: Path) -> None:
        self.env = {"HOSTWATCH_SMTP_URL": smtp_url, "HOSTWATCH_ALLOW_NETWORKS": "127.0.0.0/8"}
        self.runner = CliRunner()
        self.folder = folder
        self.files = 0

    def run(self, *args: str, hours: float | None = None, code: int = 0) -> str:
        prefix = ["--now", _at(hours)] if hours is not None else []
        result = self.runner.invoke(app, [*prefix, *args], env=self.env)
        assert result.exit_code == code, result.output
        return result.output

    def openphish(self, urls: list[str], hours: float) -> None:
        self.files += 1
        path = self.folder / f"openphish-{self.files}.txt"
        path.write_text("".join(f"{url}\n" for url in urls))
        self.run("ingest", "--format", "openphish", str(path), hours=hours)

    def hotline_csv(self, urls: list[str], hours: float, source: str = "hotline-nl") -> None:
        self.files += 1
        path = self.folder / f"hotline-{self.files}.csv"
        lines = ["url,time,classification"]
        lines += [f"{url},{_at(hours)},csam" for url in urls]
        path.write_text("\n".join(lines) + "\n")
        self.run("ingest", "--format", "csv", "--source", source, str(path), hours=hours)


@pytest.fixture
def desk(settings: Settings, smtp: tuple[Inbox, str], tmp_path: Path) -> Desk:
    d = Desk(smtp[1], tmp_path)
    d.run(
        "contacts",
        "add",
        "--name",
        "Example Hosting",
        "--network",
        "127.0.0.0/8",
        "--email",
        HOSTER,
        hours=-1,
    )
    return d


def _body(mail: EmailMessage) -> str:
    return next(iter(mail.iter_parts())).get_content()


def _case_of(database_url: str, url: str) -> Case:
    from hostwatch.identity import url_id

    with session_scope(database_url) as session:
        case = session.scalar(select(Case).where(Case.url_id == url_id(url)))
        assert case is not None
        session.expunge(case)
        return case


def test_unassessed_notice_waits_for_the_verdict_while_its_url_is_checked(
    settings: Settings, desk: Desk, web: tuple[Site, str], smtp: tuple[Inbox, str]
) -> None:
    site, base = web
    inbox, _ = smtp
    site.status["/login"] = 200
    url = f"{base}/login"
    desk.openphish([url], hours=0)
    desk.run("run", "--once", hours=0)
    desk.run("run", "--once", hours=6)
    assert inbox.mails == []  # nobody assessed it: no notice
    case = _case_of(settings.database_url, url)
    assert case.triage == "pending"
    with session_scope(settings.database_url) as session:
        checks = session.scalars(select(Check.online).where(Check.case_id == case.id)).all()
    assert checks and all(checks)  # checked meanwhile, and seen online
    assert case.state == "reachable"

    queue = json.loads(desk.run("triage", "list", "--format", "json", hours=7))
    assert [c["case_id"] for c in queue["cases"]] == [case.id]
    item = queue["cases"][0]
    assert item["sources"] == ["openphish"] and item["last_check_online"] is True
    assert item["waiting_hours"] == 7.0
    assert queue["queue"]["waiting"] == 1 and queue["queue"]["oldest_hours"] == 7.0
    table = desk.run("triage", "list", hours=7)
    assert "1 waiting, oldest 7.0 h" in table

    desk.run(
        "triage",
        "decide",
        str(case.id),
        "--illegal",
        "--classification",
        "CSAM",
        "--legal-basis",
        "Art. 252 Wetboek van Strafrecht",
        "--analyst",
        "analyst-7",
        hours=8,
    )
    desk.run("run", "--once", hours=9)
    assert len(inbox.mails) == 1
    mail = inbox.mails[0]
    assert mail["To"] == HOSTER
    body = _body(mail)
    assert "Assessment: assessed by the hotline on 2024-03-01; reported by openphish" in body
    assert "Legal basis: Art. 252 Wetboek van Strafrecht" in body
    assert "child sexual abuse material" in body  # the analyst's classification, not the feed's
    assert "analyst-7" not in body  # the analyst is never named to the hoster

    after = _case_of(settings.database_url, url)
    assert (after.triage, after.classification) == ("illegal", "csam")
    assert after.first_message_at == T0 + timedelta(hours=9)
    with session_scope(settings.database_url) as session:
        events = session.scalars(
            select(AuditEvent)
            .where(AuditEvent.object_type == "case", AuditEvent.object_id == str(case.id))
            .order_by(AuditEvent.seq)
        ).all()
        actions = [e.action for e in events]
        assert actions.index("triage.queued") < actions.index("triage.illegal")
        assert actions.index("triage.queued") < actions.index("case.reachable")
        verdict = next(e for e in events if e.action == "triage.illegal")
        assert verdict.actor == "analyst-7"
        assert T0 + timedelta(hours=8) <= verdict.at < T0 + timedelta(hours=8, seconds=5)
        assert verdict.data["legal_basis"] == "Art. 252 Wetboek van Strafrecht"
        assert verdict.data["classification"] == "csam"
        assert verify_log(session, None).intact


def test_assessed_source_goes_at_once_and_says_who_reported_it(
    settings: Settings, desk: Desk, web: tuple[Site, str], smtp: tuple[Inbox, str]
) -> None:
    site, base = web
    inbox, _ = smtp
    site.status["/a"] = 200
    desk.hotline_csv([f"{base}/a"], hours=0)
    desk.run("run", "--once", hours=0)
    assert len(inbox.mails) == 1
    body = _body(inbox.mails[0])
    assert "Assessment: reported by hotline-nl, a source whose reports are assessed" in body
    assert "assessed by the hotline on" not in body
    assert "An analyst" not in body
    assert _case_of(settings.database_url, f"{base}/a").triage is None


def test_not_illegal_and_not_reachable_close_without_a_notice_all_or_none(
    settings: Settings, desk: Desk, web: tuple[Site, str], smtp: tuple[Inbox, str]
) -> None:
    site, base = web
    inbox, _ = smtp
    urls = [f"{base}/p{i}" for i in range(4)]
    for path in ("/p0", "/p1", "/p2", "/p3"):
        site.status[path] = 200
    desk.openphish(urls, hours=0)
    desk.run("run", "--once", hours=0)
    ids = [_case_of(settings.database_url, u).id for u in urls]
    bad = desk.run(
        "triage", "decide", str(ids[0]), "9999", "--not-illegal", "--analyst", "a", code=2
    )
    assert "case 9999 does not exist" in bad
    assert "--illegal" in desk.run(
        "triage", "decide", str(ids[0]), "--illegal", "--not-illegal", "--analyst", "a", code=2
    )
    no_basis = desk.run(
        "triage", "decide", str(ids[0]), "--illegal", "--classification", "csam",
        "--analyst", "a", code=2,
    )  # fmt: skip
    assert "legal basis" in no_basis
    with session_scope(settings.database_url) as session:
        assert session.scalars(select(TriageVerdict)).all() == []  # nothing half-recorded

    desk.run(
        "triage", "decide", str(ids[0]), str(ids[1]), "--not-illegal", "--analyst", "b", hours=2
    )
    desk.run("triage", "decide", str(ids[2]), "--not-reachable", "--analyst", "b", hours=3)
    again = desk.run("triage", "decide", str(ids[0]), "--not-illegal", "--analyst", "b", code=2)
    assert f"case {ids[0]} is not waiting for triage (already decided: not-illegal)" in again
    for hours in (3, 30):
        desk.run("run", "--once", hours=hours)
    assert inbox.mails == []
    states = {u: _case_of(settings.database_url, u) for u in urls}
    assert [(states[u].state, states[u].triage) for u in urls[:3]] == [
        ("closed", "not-illegal"),
        ("closed", "not-illegal"),
        ("closed", "not-reachable"),
    ]
    assert T0 + timedelta(hours=2) <= states[urls[0]].closed_at < T0 + timedelta(hours=3)
    assert states[urls[3]].triage == "pending"
    with session_scope(settings.database_url) as session:
        rows = session.execute(
            select(TriageVerdict.case_id, TriageVerdict.verdict, TriageVerdict.analyst).order_by(
                TriageVerdict.case_id
            )
        ).all()
        assert [tuple(r) for r in rows] == [
            (ids[0], "not-illegal", "b"),
            (ids[1], "not-illegal", "b"),
            (ids[2], "not-reachable", "b"),
        ]
        figures = queue_figures(session, T0 + timedelta(hours=30), since=T0)
        assert figures["waiting"] == 1 and figures["oldest_hours"] == 30.0
        assert figures["decided"] == {"illegal": 0, "not-illegal": 2, "not-reachable": 1}
        assert figures["wait_median_hours"] == 2.0
        # rebuilt for an earlier instant: all four were waiting an hour in
        assert queue_figures(session, T0 + timedelta(hours=1))["waiting"] == 4
    # the same figures in the data-quality numbers (CLI; the API and the report share them)
    quality = json.loads(
        desk.run("metrics", "quality", "--period", "2024", "--format", "json", hours=30)
    )
    assert quality["triage"].pop("at").startswith("2024-03-02T16:00:00")
    assert quality["triage"] == figures
    table = desk.run("metrics", "quality", "--period", "2024", "--format", "csv", hours=30)
    assert f"triage queue,1,,{T0.isoformat()}," in table
    assert "triage verdicts: not-illegal,2," in table


def test_sources_set_decides_for_cases_opened_afterwards(
    settings: Settings, desk: Desk, web: tuple[Site, str], smtp: tuple[Inbox, str]
) -> None:
    site, base = web
    inbox, _ = smtp
    for path in ("/x", "/y", "/z"):
        site.status[path] = 200
    desk.run("sources", "set", "openphish", "--assessed", "--by", "lead", hours=-1)
    desk.run("sources", "set", "public-form", "--unassessed", "--by", "lead", hours=-1)
    desk.openphish([f"{base}/x"], hours=0)
    desk.hotline_csv([f"{base}/y"], hours=0, source="public-form")
    desk.run("run", "--once", hours=0)
    assert [_body(m).count(f"{base}/x") for m in inbox.mails] == [1]
    assert _case_of(settings.database_url, f"{base}/y").triage == "pending"
    listed = {s["source"]: s for s in json.loads(desk.run("sources", "list", "--format", "json"))}
    assert (listed["openphish"]["trust"], listed["openphish"]["set_by"]) == ("assessed", "lead")
    assert listed["public-form"]["trust"] == "unassessed"
    assert listed["public-form"]["formats"] == ["csv"]
    assert listed["public-form"]["notices"] == 1

    # the hotline itself reports the waiting URL later: the wait ends, the notice says who
    desk.hotline_csv([f"{base}/y"], hours=2)
    desk.run("run", "--once", hours=2)
    assert len(inbox.mails) == 2
    assert "reported by hotline-nl" in _body(inbox.mails[1])
    assert _case_of(settings.database_url, f"{base}/y").triage is None
    with session_scope(settings.database_url) as session:
        actions = set(session.scalars(select(AuditEvent.action)))
    assert {"source.assessed", "source.unassessed", "triage.not-needed"} <= actions


def test_a_new_hoster_s_case_takes_the_url_s_illegal_verdict(settings: Settings) -> None:
    """The material was assessed; only its place changed: no second wait at the new hoster."""
    from hostwatch.identity import url_id
    from hostwatch.model import Attribution, Notice, Provider, Url
    from hostwatch.takedown.cases import open_cases
    from hostwatch.takedown.triage import Decision, decide

    url = "http://moving.example/kit/"
    uid = url_id(url)
    with session_scope(settings.database_url) as session:
        for name in ("First Host", "Second Host"):
            session.add(Provider(name=name, source="manual", created_at=T0, updated_at=T0))
        session.add(
            Url(
                id=uid,
                url=url,
                scheme="http",
                host="moving.example",
                host_type="domain",
                first_seen_at=T0,
            )
        )
        session.flush()
        providers = dict(session.execute(select(Provider.name, Provider.id)).all())
        notice = Notice(
            notice_key="m" * 64,
            url_id=uid,
            source="urlhaus",
            format="urlhaus",
            classification="malware",
            received_at=T0,
            raw=url,
        )
        session.add(notice)
        session.flush()
        for hours, name in ((0, "First Host"), (30, "Second Host")):
            session.add(
                Attribution(
                    url_id=uid,
                    notice_id=notice.id,
                    at=T0 + timedelta(hours=hours),
                    computed_at=T0 + timedelta(hours=hours),
                    status="ok",
                    host="moving.example",
                    ips=["127.0.0.9"],
                    ip="127.0.0.9",
                    provider_id=providers[name],
                    country="NL",
                )
            )
            session.flush()
            if hours == 0:
                open_cases(session, now=T0)
                first = session.scalar(select(Case).where(Case.url_id == uid))
                assert first is not None and first.triage == "pending"
                decision = Decision("illegal", "malware", "Art. 139d Sr")
                decide(session, [first.id], decision, analyst="a", now=T0 + timedelta(hours=2))
    with session_scope(settings.database_url) as session:
        open_cases(session, now=T0 + timedelta(hours=30))
        cases = session.scalars(select(Case).where(Case.url_id == uid).order_by(Case.id)).all()
        assert [(c.state, c.triage) for c in cases] == [("moved", "illegal"), ("new", "illegal")]
        inherited = session.scalar(
            select(AuditEvent).where(
                AuditEvent.action == "triage.inherited", AuditEvent.object_id == str(cases[1].id)
            )
        )
        assert inherited is not None and "assessed illegal on 2024-03-01" in inherited.reason


def test_the_assessment_line_claims_nothing_it_cannot_back(settings: Settings) -> None:
    from datetime import date

    from hostwatch.takedown.compose import Item, Letter, compose

    def body(**assessment: object) -> str:
        item = Item(1, "http://x.example/", None, "csam", "notice", None, T0, **assessment)  # type: ignore[arg-type]
        letter = Letter("X", "hoster", None, "T", "T", follow_up=False)
        return compose(settings, letter, [item], T0).body

    legacy = body()  # a case from before triage, reported only by a feed: no claim at all
    assert "Assessment" not in legacy and "assessed" not in legacy.lower()
    hostile = body(reported_by="feed\r\nBcc: x@evil.test", assessed_on=date(2024, 3, 2))
    line = next(x for x in hostile.splitlines() if "Assessment" in x)
    assert line.strip() == (
        "Assessment: assessed by the hotline on 2024-03-02; reported by feed  Bcc: x@evil.test"
    )
    assert "\nBcc:" not in hostile
