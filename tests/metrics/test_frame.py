"""The analysis frame read from the records, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert
from typer.testing import CliRunner

from hostwatch.metrics.frame import load_frame
from hostwatch.metrics.period import parse_period, period_between
from hostwatch.model.attribution import Attribution
from hostwatch.model.case import Case
from hostwatch.model.check import Check
from hostwatch.model.db import engine_for
from hostwatch.model.message import Delivery, Message, MessageCase
from hostwatch.model.notice import Notice
from hostwatch.model.observation import Observation
from hostwatch.model.party import Provider
from hostwatch.model.url import Url

T0 = datetime(2024, 3, 1, 8, 0, tzinfo=UTC)
H = timedelta(hours=1)


def _url(i: int, host: str) -> dict:
    return {
        "id": i,
        "url": f"http://{host}/x{i}",
        "scheme": "http",
        "host": host,
        "host_type": "domain",
        "registered_domain": host,
        "first_seen_at": T0,
    }


def _notice(i: int, url_id: int, at: datetime) -> dict:
    return {
        "notice_key": f"n{i}",
        "url_id": url_id,
        "source": "test",
        "format": "csv",
        "received_at": at,
        "raw": "",
    }


def _check(url_id: int, case_id: int | None, at: datetime, online: bool) -> dict:
    return {
        "url_id": url_id,
        "case_id": case_id,
        "checked_at": at,
        "online": online,
        "outcome": "ok" if online else "dns-fail",
    }


def populate(url: str) -> None:
    """Four stories: removed fast, removed after a blip, still online, and a feed history."""
    with engine_for(url).begin() as conn:
        conn.execute(
            insert(Provider),
            [
                {"id": 1, "name": "Fast Host B.V.", "created_at": T0, "updated_at": T0},
                {"id": 2, "name": "Slow <Host> & Co", "created_at": T0, "updated_at": T0},
            ],
        )
        conn.execute(
            insert(Url),
            [
                _url(1, "a.example"),
                _url(2, "b.example"),
                _url(3, "c.example"),
                _url(4, "d.example"),
            ],
        )
        conn.execute(
            insert(Notice),
            [
                _notice(1, 1, T0),
                _notice(2, 2, T0),
                _notice(3, 2, T0 + 5 * H),  # a second notice of the same URL
                _notice(4, 3, T0),
                _notice(5, 4, T0),
            ],
        )
        conn.execute(
            insert(Attribution),
            [
                {
                    "url_id": 3,
                    "at": T0,
                    "computed_at": T0,
                    "status": "ok",
                    "host": "c.example",
                    "ip": "192.0.2.7",
                    "origin_asn": 64500,
                    "country": "NL",
                    "provider_id": 2,
                    "reseller": "Resell Ltd",
                },
                {
                    "url_id": 4,
                    "at": T0,
                    "computed_at": T0,
                    "status": "ok",
                    "host": "d.example",
                    "ip": "192.0.2.9",
                    "origin_asn": 64501,
                    "country": "DE",
                    "provider_id": None,
                    "reseller": None,
                },
            ],
        )
        conn.execute(
            insert(Case),
            [
                {
                    "id": 1,
                    "url_id": 1,
                    "party_key": "p1",
                    "provider_id": 1,
                    "country": "NL",
                    "state_since": T0,
                    "opened_at": T0,
                },
                {
                    "id": 2,
                    "url_id": 2,
                    "party_key": "p2",
                    "provider_id": 2,
                    "country": "NL",
                    "state_since": T0,
                    "opened_at": T0,
                },
                {
                    "id": 3,
                    "url_id": 3,
                    "party_key": "p2",
                    "provider_id": 2,
                    "country": None,
                    "state_since": T0,
                    "opened_at": T0,
                },
            ],
        )
        conn.execute(
            insert(Message),
            [
                {
                    "id": i,
                    "ticket": f"t{i}",
                    "to_address": "abuse@x.invalid",
                    "kind": "notice",
                    "subject": "",
                    "body": "",
                    "message_id_header": f"<{i}@x>",
                    "created_at": T0,
                }
                for i in (1, 2, 3)
            ],
        )
        conn.execute(insert(MessageCase), [{"message_id": i, "case_id": i} for i in (1, 2, 3)])
        conn.execute(
            insert(Delivery),
            [
                {
                    "message_id": 1,
                    "attempted_at": T0 + H,
                    "transport": "smtp",
                    "outcome": "tempfail",
                },
                {
                    "message_id": 1,
                    "attempted_at": T0 + 2 * H,
                    "transport": "smtp",
                    "outcome": "sent",
                },
                {"message_id": 2, "attempted_at": T0 + H, "transport": "smtp", "outcome": "sent"},
                {"message_id": 3, "attempted_at": T0 + H, "transport": "smtp", "outcome": "sent"},
            ],
        )
        conn.execute(
            insert(Check),
            [
                # case 1: online at +2h and +5h, then three failed checks from +8h: removed.
                _check(1, 1, T0 + 2 * H, True),
                _check(1, 1, T0 + 5 * H, True),
                *[_check(1, 1, T0 + (8 + k) * H, False) for k in range(3)],
                # case 2: one failed check (a blip, not confirmed), online again, then removed.
                _check(2, 2, T0 + 6 * H, True),
                _check(2, 2, T0 + 12 * H, False),
                _check(2, 2, T0 + 18 * H, True),
                *[_check(2, 2, T0 + (30 + k) * H, False) for k in range(3)],
                # ... and back online a day later: a reappearance, still online.
                _check(2, 2, T0 + 60 * H, True),
                _check(2, 2, T0 + 66 * H, True),
                # case 3: online throughout.
                _check(3, 3, T0 + 10 * H, True),
                _check(3, 3, T0 + 100 * H, True),
            ],
        )
        conn.execute(
            insert(Observation),
            [
                {
                    "kind": "listing",
                    "observed_at": T0,
                    "source": "feed",
                    "url_id": 4,
                    "online": True,
                },
                {
                    "kind": "listing",
                    "observed_at": T0 + 20 * H,
                    "source": "feed",
                    "url_id": 4,
                    "online": True,
                },
                {
                    "kind": "listing",
                    "observed_at": T0 + 44 * H,
                    "source": "feed",
                    "url_id": 4,
                    "online": False,
                },
            ],
        )


@pytest.fixture
def frame(db_url: str):  # type: ignore[no-untyped-def]
    populate(db_url)
    return load_frame(db_url, period_between(None, None))


def _row(frame, url_id: int, episode: int = 0) -> dict:  # type: ignore[no-untyped-def]
    rows = [r for r in frame.to_dicts() if r["url_id"] == url_id and r["episode"] == episode]
    assert len(rows) == 1
    return rows[0]


def test_clock_starts_at_first_sent_message_and_removal_is_interval_censored(frame) -> None:  # type: ignore[no-untyped-def]
    row = _row(frame, 1)
    assert row["clock_start"] == "message"
    assert row["start_at"] == T0 + 2 * H  # the tempfail an hour earlier does not count
    assert row["hotline_hours"] == pytest.approx(2.0)
    assert row["left_hours"] == pytest.approx(3.0)  # last online at +5h
    assert row["right_hours"] == pytest.approx(6.0)  # first of the confirming run at +8h
    assert row["removed"] and row["provider"] == "Fast Host B.V."


def test_a_single_failed_check_is_not_a_removal_and_reappearance_is_a_new_episode(frame) -> None:  # type: ignore[no-untyped-def]
    first = _row(frame, 2, 0)
    assert first["left_hours"] == pytest.approx(17.0)  # online again at +18h after the blip
    assert first["right_hours"] == pytest.approx(29.0)
    assert first["notices"] == 2
    again = _row(frame, 2, 1)
    assert again["clock_start"] == "reappearance"
    assert again["start_at"] == T0 + 60 * H
    assert math.isinf(again["right_hours"]) and not again["removed"]
    assert again["left_hours"] == pytest.approx(6.0)


def test_still_online_is_right_censored_and_attribution_fills_gaps(frame) -> None:  # type: ignore[no-untyped-def]
    row = _row(frame, 3)
    assert math.isinf(row["right_hours"])
    assert row["left_hours"] == pytest.approx(99.0)
    assert row["provider"] == "Slow <Host> & Co"
    assert row["reseller"] == "Resell Ltd" and row["asn"] == 64500
    assert row["country"] == "NL"  # from the attribution, the case has none
    assert row["ip"] == "192.0.2.7"


def test_feed_history_without_case_starts_at_the_notice(frame) -> None:  # type: ignore[no-untyped-def]
    row = _row(frame, 4)
    assert row["case_id"] is None
    assert row["clock_start"] == "notice"
    assert row["provider"] == "unattributed"
    assert (row["left_hours"], row["right_hours"]) == (pytest.approx(20.0), pytest.approx(44.0))
    assert row["hotline_hours"] is None


def test_period_end_censors_later_sightings(db_url: str) -> None:
    populate(db_url)
    frame = load_frame(db_url, parse_period("2024-03-01..2024-03-02T04:00:00"))
    row = _row(frame, 1)
    assert row["removed"]
    row = _row(frame, 2)
    assert not row["removed"] and math.isinf(row["right_hours"])  # removal came after the end
    assert row["left_hours"] == pytest.approx(17.0)


def test_metrics_takedown_json_names_providers(db_url: str, settings) -> None:  # type: ignore[no-untyped-def]
    from hostwatch.cli.app import app

    populate(db_url)
    result = CliRunner().invoke(app, ["metrics", "takedown", "--format", "json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["n"] == 5
    assert 0.0 <= doc["removed_within_24h"] <= 1.0
    # Removal lies between checks: the median is bracketed, not placed at its earliest time.
    assert doc["median_hours"] is None and doc["median_status"] == "not identified"
    assert (doc["median_lower_hours"], doc["median_upper_hours"]) == (20.0, 44.0)
    assert doc["p90_status"] == "not reached" and doc["p90_lower_hours"] is None
    names = {p["provider"] for p in doc["providers"]}
    assert names == {"Fast Host B.V.", "Slow <Host> & Co", "unattributed"}
    fast = next(p for p in doc["providers"] if p["provider"] == "Fast Host B.V.")
    assert fast["n"] == 1 and fast["removed_within_24h"] == 1.0
    assert fast["median_status"] == "not identified"
    assert (fast["median_lower_hours"], fast["median_upper_hours"]) == (3.0, 6.0)


@pytest.mark.parametrize("measure", ["exposure", "concentration", "trends", "displacement"])
@pytest.mark.parametrize("fmt", ["csv", "json", "table"])
def test_every_measure_prints_in_every_format(
    db_url: str, settings, measure: str, fmt: str
) -> None:  # type: ignore[no-untyped-def]
    from hostwatch.cli.app import app

    populate(db_url)
    result = CliRunner().invoke(app, ["metrics", measure, "--format", fmt, "--by", "country"])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip()


def test_report_command_writes_html_pdf_and_exports(db_url: str, settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from hostwatch.cli.app import app

    populate(db_url)
    out = tmp_path / "report"
    result = CliRunner().invoke(
        app, ["report", "--period", "2024", "--edition", "restricted", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    for name in (
        "report.html",
        "report.pdf",
        "cases.csv",
        "cases_researcher.csv",
        "takedown_by_provider.csv",
    ):
        assert (out / name).stat().st_size > 0, name
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "Slow &lt;Host&gt; &amp; Co" in html and "Slow <Host>" not in html
    assert "clock starts at the notice time" in html  # the feed history without a message
    assert "SIMULATED" not in html


def test_a_table_too_wide_for_the_terminal_prints_one_record_per_group(
    db_url: str, settings, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """Two dozen takedown columns folded into 80 columns left every cell empty; each group is
    then a block of field/value lines, every figure readable."""
    from hostwatch.cli.app import app

    populate(db_url)
    monkeypatch.setenv("COLUMNS", "80")
    result = CliRunner().invoke(
        app, ["metrics", "takedown", "--format", "table", "--by", "country"]
    )
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert any("removed_within_24h_upper" in line for line in lines)
    assert "[1]" in result.stdout
    monkeypatch.setenv("COLUMNS", "2000")
    wide = CliRunner().invoke(app, ["metrics", "takedown", "--format", "table", "--by", "country"])
    assert "[1]" not in wide.stdout and "removed_within_24h_upper" in wide.stdout


def test_report_command_refuses_an_empty_period(db_url: str, settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from hostwatch.cli.app import app

    populate(db_url)
    result = CliRunner().invoke(app, ["report", "--period", "2019", "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "no case episodes" in result.output
