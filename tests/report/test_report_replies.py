"""Right of reply: stored per period on both databases, entered and listed through the CLI, and
printed escaped in the report of that period only."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hostwatch.cli.app import app
from hostwatch.model.db import migrate, session_scope
from hostwatch.report.replies import add_reply, replies_for
from hostwatch.settings import Settings


def test_replies_are_kept_per_period(db_url: str) -> None:
    migrate(db_url)
    now = datetime(2025, 2, 1, 12, tzinfo=UTC)
    with session_scope(db_url) as session:
        add_reply(session, "Hoster A", "2024", "We fixed our abuse desk.", now)
        add_reply(session, "Hoster B", "2024", "  <b>Bold</b> claim  ", now, entered_by="ana")
        add_reply(session, "Hoster A", "2023", "Old reply.", now)
    with session_scope(db_url) as session:
        rows = replies_for(session, "2024")
    assert [(r["provider"], r["text"]) for r in rows] == [
        ("Hoster A", "We fixed our abuse desk."),
        ("Hoster B", "<b>Bold</b> claim"),
    ]
    assert rows[0]["entered_at"] == now and rows[1]["entered_by"] == "ana"


@pytest.mark.parametrize(
    ("provider", "text", "reason"),
    [("Hoster A", "   ", "the text is empty"), (" ", "text", "the provider's name is empty")],
)
def test_an_empty_reply_is_refused_with_its_reason(
    db_url: str, provider: str, text: str, reason: str
) -> None:
    migrate(db_url)
    with session_scope(db_url) as session, pytest.raises(ValueError, match=reason):
        add_reply(session, provider, "2024", text, datetime(2025, 1, 1, tzinfo=UTC))


def test_reply_add_and_list_from_the_command_line(settings: Settings, tmp_path: Path) -> None:
    runner = CliRunner()
    letter = tmp_path / "reply.txt"
    letter.write_text("Wij reageren binnen het uur.\nMet vriendelijke groet.", encoding="utf-8")
    first = runner.invoke(
        app, ["report", "reply", "add", "Polder B.V.", "--period", "2025", "--text", "Noted."]
    )
    assert first.exit_code == 0, first.output
    second = runner.invoke(
        app, ["report", "reply", "add", "Dijk NV", "--period", "2025Q1", "--file", str(letter)]
    )
    assert second.exit_code == 0, second.output
    both = runner.invoke(
        app, ["report", "reply", "add", "X", "--period", "2025", "--text", "a", "--file", "b"]
    )
    assert both.exit_code == 2 and "exactly one of --text or --file" in both.output
    bad = runner.invoke(app, ["report", "reply", "add", "X", "--period", "20x5", "--text", "a"])
    assert bad.exit_code == 2 and "20x5" in bad.output
    listed = runner.invoke(app, ["report", "reply", "list", "--period", "2025"])
    assert (
        listed.exit_code == 0 and "Polder B.V." in listed.output and "Dijk NV" not in listed.output
    )
    quarter = runner.invoke(app, ["report", "reply", "list", "--period", "2025q1"])
    assert "Wij reageren binnen het uur." in quarter.output
    none = runner.invoke(app, ["report", "reply", "list", "--period", "2019"])
    assert none.exit_code == 0 and "no replies for 2019" in none.output
