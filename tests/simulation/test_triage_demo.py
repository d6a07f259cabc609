"""The demo year replays triage: reports from the public form wait for the simulated analyst,
whose verdicts come in office hours; their URLs are checked meanwhile, and their notices go out
after the verdict and say when the hotline assessed them."""

from __future__ import annotations

import email
import email.policy
from datetime import datetime
from pathlib import Path

from sqlalchemy import create_engine, text

from hostwatch.simulation.feeds import PUBLIC_SOURCE


def _rows(out: Path, sql: str) -> list[tuple]:
    engine = create_engine(f"sqlite:///{out / 'hostwatch.db'}")
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(text(sql))]


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value)


def test_public_reports_wait_for_the_analyst_and_are_checked_meanwhile(demo_out: Path) -> None:
    assert _rows(demo_out, "SELECT source, assessed FROM source_trust") == [(PUBLIC_SOURCE, 0)]
    verdicts = _rows(
        demo_out,
        "SELECT v.case_id, v.verdict, v.decided_at, c.opened_at, c.first_message_at, v.analyst"
        " FROM triage_verdicts v JOIN cases c ON c.id = v.case_id ORDER BY v.case_id",
    )
    public_urls = _rows(
        demo_out, f"SELECT count(DISTINCT url_id) FROM notices WHERE source = '{PUBLIC_SOURCE}'"
    )[0][0]
    assert public_urls >= 5 and len(verdicts) >= public_urls - 1  # at most one still waits
    assert {v[1] for v in verdicts} >= {"illegal"}
    for case_id, verdict, decided, opened, first_message, analyst in verdicts:
        decided_at = _at(decided)
        assert analyst == "simulated analyst"
        assert decided_at.weekday() < 5 and 8 <= decided_at.hour <= 17, (case_id, decided)
        assert decided_at > _at(opened)
        if verdict == "illegal":
            assert first_message is not None and _at(first_message) >= decided_at
        else:
            assert first_message is None
        checked_before = _rows(
            demo_out,
            f"SELECT count(*) FROM checks WHERE case_id = {case_id} AND checked_at < '{decided}'",
        )[0][0]
        assert checked_before >= 1, case_id  # the case was open and checked while it waited
    actions = dict(_rows(demo_out, "SELECT action, count(*) FROM audit_events GROUP BY action"))
    assert actions["triage.queued"] >= public_urls
    assert actions.get("triage.illegal", 0) + actions.get("triage.not-illegal", 0) + actions.get(
        "triage.not-reachable", 0
    ) == len(verdicts)


def test_notices_say_truthfully_who_assessed_the_material(demo_out: Path) -> None:
    assessed = reported = 0
    for path in (demo_out / "outbox").glob("*.eml"):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        body = message.get_body(preferencelist=("plain",)).get_content()
        assert "An analyst of the hotline" not in body
        assessed += body.count("Assessment: assessed by the hotline on 2025-")
        reported += body.count("Assessment: reported by simulated-hotline, a source whose")
    assert assessed > 0 and reported > 0


def test_the_report_gives_the_same_triage_figures_as_the_records(demo_out: Path) -> None:
    import re

    counts = dict(_rows(demo_out, "SELECT verdict, count(*) FROM triage_verdicts GROUP BY verdict"))
    waiting = _rows(demo_out, "SELECT count(*) FROM cases WHERE triage = 'pending'")[0][0]
    html = (demo_out / "report.html").read_text()
    found = re.search(
        r"In the period (\d+) were found illegal, (\d+) not illegal and (\d+) not reachable"
        r".*?(\d+) still waited at the end of the period",
        html,
        re.S,
    )
    assert found is not None
    assert [int(n) for n in found.groups()] == [
        counts.get("illegal", 0),
        counts.get("not-illegal", 0),
        counts.get("not-reachable", 0),
        waiting,
    ]
