"""Figures from conclusive evidence only, one set of numbers for every grouping, and the data
quality beside them: through the frame, the CLI, the API and the report, on SQLite and PostgreSQL.

The database is one where hostwatch's own resolver failed for 16 hours, with unattributed,
never-online and not-checkable cases: the situations of issue 14 that made the figures wrong.

- 20 URLs at "Steady Host" (AS64500, NL), online throughout; from T0+24 h to T0+40 h the
  checker's resolver did not answer: every check then is inconclusive ("resolver-timeout"),
  hourly, and the checker's health records say not ok. URLs 1-5 are really removed afterwards:
  online at T0+55 h, three conclusive failed checks from T0+60 h.
- URL 27: unattributed, online at T0+3 h, removed (failed checks from T0+9 h).
- URLs 21-24: unattributed, never seen online (only conclusive failures from T0+3 h).
- URLs 25-26: unattributed, the policy forbids checking them.
Every case got its first message at T0+1 h.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import polars as pl
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert
from typer.testing import CliRunner

from hostwatch.clock import Clock
from hostwatch.metrics.frame import BLOCKED_OUTCOME, load_frame
from hostwatch.metrics.period import period_between
from hostwatch.metrics.takedown import figures, takedown_report, takedown_table
from hostwatch.model.attribution import Attribution
from hostwatch.model.case import Case
from hostwatch.model.check import Check
from hostwatch.model.db import engine_for, session_scope
from hostwatch.model.message import Delivery, Message, MessageCase
from hostwatch.model.notice import Notice
from hostwatch.model.observation import Observation
from hostwatch.model.party import Provider
from hostwatch.model.url import Url
from hostwatch.takedown.checker.result import Outcome
from hostwatch.web.auth import create_token

T0 = datetime(2024, 3, 1, 8, 0, tzinfo=UTC)
H = timedelta(hours=1)
OUTAGE = (T0 + 24 * H, T0 + 40 * H)
STEADY = range(1, 21)
REMOVED_AFTER_OUTAGE = range(1, 6)
NEVER_ONLINE = range(21, 25)
NOT_CHECKABLE = range(25, 27)
UNATTRIBUTED_REMOVED = 27
ALL = range(1, 28)
ALL_DATA = period_between(None, None)


def _check(url: int, at: datetime, online: bool, outcome: str, reason: str | None = None) -> dict:
    return {
        "url_id": url,
        "case_id": url,
        "checked_at": at,
        "online": online,
        "outcome": outcome,
        "inconclusive_reason": reason,
    }


def _in_outage(at: datetime) -> bool:
    return OUTAGE[0] <= at < OUTAGE[1]


def _checks() -> list[dict]:
    rows = []
    for url in STEADY:
        last = 55 if url in REMOVED_AFTER_OUTAGE else 97
        for hours in range(1, last + 1, 6):
            if not _in_outage(T0 + hours * H):
                rows.append(_check(url, T0 + hours * H, True, "online"))
        for hours in range(24, 40):
            rows.append(_check(url, T0 + hours * H, False, "dns-fail", "resolver-timeout"))
        if url in REMOVED_AFTER_OUTAGE:
            rows += [_check(url, T0 + h * H, False, "nxdomain") for h in (60, 61, 62)]
    rows.append(_check(UNATTRIBUTED_REMOVED, T0 + 3 * H, True, "online"))
    rows += [_check(UNATTRIBUTED_REMOVED, T0 + h * H, False, "refused") for h in (9, 10, 11)]
    for url in NEVER_ONLINE:
        rows += [_check(url, T0 + h * H, False, "dns-fail") for h in (3, 4, 5)]
    first, second = NOT_CHECKABLE
    rows += [_check(first, T0 + h * H, False, "blocked-by-policy") for h in (3, 4, 5)]
    rows += [
        _check(second, T0 + h * H, False, "error", "policy: reserved address") for h in (3, 4, 5)
    ]
    return rows


def populate(url: str) -> None:
    with engine_for(url).begin() as conn:
        conn.execute(
            insert(Provider),
            [{"id": 1, "name": "Steady Host", "created_at": T0, "updated_at": T0}],
        )
        conn.execute(
            insert(Url),
            [
                {
                    "id": i,
                    "url": f"http://h{i}.example/p",
                    "scheme": "http",
                    "host": f"h{i}.example",
                    "host_type": "domain",
                    "registered_domain": f"h{i}.example",
                    "first_seen_at": T0,
                }
                for i in ALL
            ],
        )
        conn.execute(
            insert(Notice),
            [
                {
                    "notice_key": f"n{i}",
                    "url_id": i,
                    "source": "hotline",
                    "format": "csv",
                    "received_at": T0,
                    "raw": "",
                }
                for i in ALL
            ],
        )
        conn.execute(
            insert(Attribution),
            [
                {
                    "url_id": i,
                    "at": T0,
                    "computed_at": T0,
                    "status": "ok",
                    "host": f"h{i}.example",
                    "ip": f"192.0.2.{i}",
                    "origin_asn": 64500,
                    "country": "NL",
                    "provider_id": 1,
                }
                for i in STEADY
            ],
        )
        conn.execute(
            insert(Case),
            [
                {
                    "id": i,
                    "url_id": i,
                    "party_key": "p1" if i in STEADY else f"u{i}",
                    "provider_id": 1 if i in STEADY else None,
                    "country": "NL" if i in STEADY else None,
                    "state_since": T0,
                    "opened_at": T0,
                    "first_message_at": T0 + H,
                }
                for i in ALL
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
                for i in ALL
            ],
        )
        conn.execute(insert(MessageCase), [{"message_id": i, "case_id": i} for i in ALL])
        conn.execute(
            insert(Delivery),
            [
                {"message_id": i, "attempted_at": T0 + H, "transport": "smtp", "outcome": "sent"}
                for i in ALL
            ],
        )
        conn.execute(insert(Check), _checks())
        conn.execute(
            insert(Observation),
            [
                {
                    "kind": "checker-health",
                    "observed_at": T0 + h * H,
                    "source": "checker",
                    "data": {"ok": not _in_outage(T0 + h * H), "resolver": "127.0.0.1:53"},
                }
                for h in range(0, 73)
            ],
        )


@pytest.fixture
def frame(db_url: str) -> pl.DataFrame:
    populate(db_url)
    return load_frame(db_url, ALL_DATA)


def test_an_outage_of_our_own_resolver_adds_no_removal_and_no_episode(frame) -> None:  # type: ignore[no-untyped-def]
    assert frame.height == len(ALL)  # one episode per URL: the outage split none
    steady = frame.filter(pl.col("url_id").is_in(list(STEADY)))
    still = steady.filter(~pl.col("url_id").is_in(list(REMOVED_AFTER_OUTAGE)))
    assert not still["removed"].any() and still["right_hours"].is_infinite().all()
    # The real removals after the outage are found on time: last online T0+55 h, first of the
    # confirming run T0+60 h, both counted from the message at T0+1 h.
    gone = steady.filter(pl.col("url_id").is_in(list(REMOVED_AFTER_OUTAGE)))
    assert gone["removed"].all()
    assert set(gone["left_hours"].to_list()) == {54.0}
    assert set(gone["right_hours"].to_list()) == {59.0}
    doc = figures(frame)
    assert doc["n"] == 21 and doc["removed"] == 6
    assert doc["removed_within_24h"] == pytest.approx(1 / 21, abs=1e-6)  # only URL 27
    assert doc["removed_within_24h_upper"] == pytest.approx(1 / 21, abs=1e-6)


def test_never_seen_online_and_not_checkable_are_counted_apart(frame) -> None:  # type: ignore[no-untyped-def]
    evidence = dict(zip(frame["url_id"].to_list(), frame["evidence"].to_list(), strict=True))
    assert {evidence[u] for u in NEVER_ONLINE} == {"not-confirmed-online"}
    assert {evidence[u] for u in NOT_CHECKABLE} == {"not-checkable"}
    assert evidence[UNATTRIBUTED_REMOVED] == "online"
    doc = figures(frame)
    assert (doc["not_confirmed_online"], doc["not_checkable"]) == (4, 2)
    # Never a fast takedown: no removal within 1 h, and none of them counted as still online.
    assert doc["removed_within_1h"] == 0.0 and doc["censored"] == 15


def test_policy_outcome_is_the_checkers() -> None:
    assert Outcome.BLOCKED.value == BLOCKED_OUTCOME


@pytest.mark.parametrize("by", ["provider", "reseller", "asn", "country"])
def test_every_grouping_partitions_the_same_episodes(frame, by: str) -> None:  # type: ignore[no-untyped-def]
    overall = figures(frame)
    table = takedown_table(frame, by)
    for count in ("n", "removed", "censored", "not_confirmed_online", "not_checkable"):
        assert table[count].sum() == overall[count], (by, count)
    rows = {r["group"]: r for r in table.to_dicts()}
    assert "unattributed" in rows
    unattributed = rows["unattributed"]
    assert (unattributed["n"], unattributed["removed"]) == (1, 1)
    assert (unattributed["not_confirmed_online"], unattributed["not_checkable"]) == (4, 2)
    # Each group says what its episodes alone say.
    label = {"provider": "Steady Host", "reseller": "(no reseller)", "asn": "AS64500"}
    attributed = rows[label.get(by, "NL")]
    steady = frame.filter(pl.col("url_id").is_in(list(STEADY)))
    assert {k: attributed[k] for k in overall} == figures(steady)


def test_a_group_holding_every_episode_gives_the_overall_figures(frame) -> None:  # type: ignore[no-untyped-def]
    alone = frame.with_columns(provider=pl.lit("Steady Host"), country=pl.lit("NL"))
    for by in ("provider", "country"):
        (row,) = takedown_table(alone, by).to_dicts()
        assert {k: row[k] for k in figures(alone)} == figures(alone)


def test_metrics_quality_in_every_format(db_url: str, settings) -> None:  # type: ignore[no-untyped-def]
    from hostwatch.cli.app import app

    populate(db_url)
    runner = CliRunner()
    result = runner.invoke(app, ["metrics", "quality", "--format", "json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["episodes"] == 27
    assert doc["unattributed"] == {"count": 7, "share": round(7 / 27, 6)}
    assert doc["not_confirmed_online"]["count"] == 4 and doc["not_checkable"]["count"] == 2
    assert doc["inconclusive_checks"] == {
        "count": 20 * 16 + 3,
        "by_reason": {"policy: reserved address": 3, "resolver-timeout": 320},
    }
    outages = doc["checker_outages"]
    assert outages["count"] == 1 and outages["hours"] == 16.0
    (window,) = outages["windows"]
    assert window["start"] == OUTAGE[0].isoformat()
    assert window["recovered_at"] == OUTAGE[1].isoformat() and window["observations"] == 16

    rows = list(
        csv.DictReader(
            io.StringIO(runner.invoke(app, ["metrics", "quality", "--format", "csv"]).stdout)
        )
    )
    by_figure = {r["figure"]: r for r in rows}
    assert by_figure["not confirmed online"]["count"] == "4"
    assert by_figure["inconclusive: resolver-timeout"]["count"] == "320"
    assert by_figure["checker outage"]["start"] == OUTAGE[0].isoformat()
    table = runner.invoke(app, ["metrics", "quality", "--format", "table"])
    assert table.exit_code == 0 and "checker outage" in table.stdout


def test_metrics_takedown_json_says_what_is_identified(db_url: str, settings) -> None:  # type: ignore[no-untyped-def]
    from hostwatch.cli.app import app

    populate(db_url)
    result = CliRunner().invoke(app, ["metrics", "takedown", "--format", "json", "--by", "country"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert (doc["n"], doc["not_confirmed_online"], doc["not_checkable"]) == (21, 4, 2)
    assert doc["median_status"] == "not reached" and doc["median_hours"] is None
    assert {c["country"] for c in doc["countries"]} == {"NL", "unattributed"}
    assert sum(c["n"] for c in doc["countries"]) == doc["n"]


def test_api_serves_the_same_figures_and_the_quality(db_url: str, settings) -> None:  # type: ignore[no-untyped-def]
    from hostwatch.web.app import create_app

    populate(db_url)
    with session_scope(db_url) as s:
        tokens = {
            role: create_token(s, role=role, now=T0, label=role).token
            for role in ("analyst", "researcher", "regulator")
        }
        tokens["provider"] = create_token(
            s, role="provider", provider_name="Steady Host", now=T0
        ).token
    app = create_app(settings, clock=Clock.at(T0 + 100 * H))
    with TestClient(app, base_url="http://127.0.0.1") as client:

        def get(path: str, role: str) -> object:
            return client.get(path, headers={"Authorization": f"Bearer {tokens[role]}"})

        takedown = get("/api/v1/metrics/takedown?period=2024&by=provider", "analyst").json()
        providers = get("/api/v1/metrics/providers?period=2024", "analyst").json()  # type: ignore[attr-defined]
        assert providers == takedown  # type: ignore[comparison-overlap]
        frame = load_frame(db_url, period_between(None, None))
        assert takedown == json.loads(json.dumps(takedown_report(frame, "provider"), default=str))
        own = get("/api/v1/metrics/providers?period=2024", "provider").json()  # type: ignore[attr-defined]
        assert [p["provider"] for p in own["providers"]] == ["Steady Host"]
        assert own["n"] == 20 and own["not_confirmed_online"] == 0
        for role in ("analyst", "researcher", "regulator"):
            r = get("/api/v1/metrics/quality?period=2024", role)
            assert r.status_code == 200, r.text  # type: ignore[attr-defined]
            body = r.json()  # type: ignore[attr-defined]
            assert body["not_checkable"]["count"] == 2
            assert body["checker_outages"]["count"] == 1
            assert "h1.example" not in r.text and "192.0.2." not in r.text  # type: ignore[attr-defined]
        assert get("/api/v1/metrics/quality", "provider").status_code == 403  # type: ignore[attr-defined]
        assert get("/api/v1/metrics/quality?period=soon", "analyst").status_code == 422  # type: ignore[attr-defined]


def test_report_has_the_data_quality_and_repeats_to_the_digit(
    db_url: str,
    settings,  # type: ignore[no-untyped-def]
    tmp_path,  # type: ignore[no-untyped-def]
) -> None:
    from hostwatch.cli.app import app

    populate(db_url)
    runner = CliRunner()
    pages = []
    for run in ("a", "b"):
        out = tmp_path / run
        argv = ["--now", "2024-03-10T00:00:00Z", "report", "--out", str(out), "--no-pdf"]
        result = runner.invoke(app, argv)
        assert result.exit_code == 0, result.output
        pages.append((out / "report.html").read_text(encoding="utf-8"))
        figures_csv = (out / "takedown_by_provider.csv").read_text(encoding="utf-8")
        assert "Steady Host" in figures_csv and "unattributed" in figures_csv
    assert pages[0] == pages[1]
    html = pages[0]
    quality = html[html.index('id="data-quality"') : html.index('id="methods"')]
    assert "323 checks were inconclusive" in quality and "resolver-timeout" in quality
    assert "health records: 1 (16.0\u00a0h in all)" in quality
    assert OUTAGE[0].isoformat() in quality
    never = quality[quality.index("never confirmed online") :]
    assert never.startswith("never confirmed online</td><td>4</td>")


def test_stale_attributions_are_counted_and_can_be_left_out(db_url: str, settings) -> None:  # type: ignore[no-untyped-def]
    """A stale attribution (say a 2014 routing table for a 2021 notice) is counted in the data
    quality document, and ``--exclude-stale`` gives the figures without its episodes."""
    from sqlalchemy import select, update

    from hostwatch.cli.app import app
    from hostwatch.model import Attribution
    from hostwatch.model.db import session_scope

    populate(db_url)
    runner = CliRunner()
    before = json.loads(runner.invoke(app, ["metrics", "takedown", "--format", "json"]).stdout)
    with session_scope(db_url) as session:
        stale_ids = session.scalars(select(Attribution.id).order_by(Attribution.id).limit(5)).all()
        session.execute(
            update(Attribution)
            .where(Attribution.id.in_(stale_ids))
            .values(stale=True, stale_reason="routing:outdated")
        )
    doc = json.loads(runner.invoke(app, ["metrics", "quality", "--format", "json"]).stdout)
    assert doc["stale_attributions"]["stale"] == 5
    assert doc["stale_attributions"]["outdated"] == 5
    kept = json.loads(
        runner.invoke(app, ["metrics", "takedown", "--exclude-stale", "--format", "json"]).stdout
    )
    assert kept["n"] + kept["not_confirmed_online"] + kept["not_checkable"] == (
        before["n"] + before["not_confirmed_online"] + before["not_checkable"] - 5
    )
