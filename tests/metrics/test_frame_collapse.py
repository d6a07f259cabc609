"""The frame read from per-case summaries equals the frame read from every sighting.

``build_frame`` lets the database collapse each history to a few rows and reads the sightings
themselves only for the histories that are not simple; ``collapse=False`` reads every sighting of
every case, as the frame was read before. The generated (seeded) database holds the histories
where the two could part: inconclusive checks during the monitor's own outage (inside an offline
run, so they must not make or break it), flapping online/offline, offline runs one check short of
confirming, an online and an offline check at the same instant, a URL with a second case opened
later at another party (checks of one case are not the other's, checks without a case are
both's), feed listings, checks the policy refused (some URLs nothing else), reappearances, and
periods whose end cuts histories (right-censoring) or falls before a case's first check.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from sqlalchemy import insert, text

from hostwatch.metrics.frame import BLOCKED_OUTCOME, build_frame, summary_query
from hostwatch.metrics.period import parse_period, period_between
from hostwatch.metrics.takedown import figures
from hostwatch.model.case import Case
from hostwatch.model.check import Check
from hostwatch.model.db import engine_for
from hostwatch.model.message import Delivery, Message, MessageCase
from hostwatch.model.notice import Notice
from hostwatch.model.observation import Observation
from hostwatch.model.party import Provider
from hostwatch.model.url import Url

T0 = datetime(2024, 2, 1, tzinfo=UTC)
KINDS = (
    "simple", "flapping", "outage", "short", "tie", "reopened", "reappears", "listed", "refused"
)  # fmt: skip
PERIODS = (
    period_between(None, None),
    parse_period("2024"),
    parse_period("2024Q2"),  # ends while many histories are still being checked
    parse_period("2024-02-01..2024-02-20"),
)


def _history(rng: random.Random, kind: str, start: datetime) -> list[tuple[datetime, bool, str]]:
    """(checked_at, online, inconclusive_reason or '') for one case, by kind."""
    t = start + timedelta(minutes=rng.randrange(1, 120), microseconds=rng.randrange(10**6))
    out: list[tuple[datetime, bool, str]] = []

    def step(online: bool, reason: str = "") -> None:
        nonlocal t
        t += timedelta(hours=rng.uniform(0.2, 9), microseconds=rng.randrange(10**6))
        out.append((t, online, reason))

    if kind == "refused":  # the policy forbids checking it
        for _ in range(rng.randrange(1, 4)):
            step(False, "blocked-by-policy")
        return out
    for _ in range(rng.randrange(0, 30)):
        step(True)
    if kind == "flapping":
        for _ in range(rng.randrange(2, 14)):
            step(rng.random() < 0.5)
    elif kind == "outage":  # our resolver down in the middle of the offline run
        step(False)
        for _ in range(rng.randrange(1, 4)):
            step(rng.random() < 0.5, "resolver-timeout")
        step(False)
        if rng.random() < 0.5:
            step(False)
    elif kind == "short":  # one check short of a confirmed removal
        step(False)
        step(False)
    elif kind == "tie":
        if out:
            out.append((out[-1][0], False, ""))
        for _ in range(3):
            step(False)
    elif kind == "reappears":
        for _ in range(3):
            step(False)
        for _ in range(rng.randrange(1, 6)):
            step(True)
        for _ in range(rng.randrange(0, 4)):
            step(False)
    elif kind != "listed":
        for _ in range(rng.randrange(0, 5)):
            step(False)
    if rng.random() < 0.05:
        step(False, "blocked-by-policy")
    return out


def populate(url: str, n: int = 1200, seed: int = 3) -> None:
    rng = random.Random(seed)
    now = T0
    tables: dict[type, list[dict[str, object]]] = {
        model: []
        for model in (Url, Notice, Case, Message, MessageCase, Delivery, Check, Observation)
    }
    case_id = 0
    for i in range(1, n + 1):
        kind = KINDS[i % len(KINDS)]
        at = T0 + timedelta(seconds=rng.randrange(330 * 86400), microseconds=rng.randrange(10**6))
        tables[Url].append(
            {"id": i, "url": f"http://h{i}.example/", "scheme": "http", "host": f"h{i}.example",
             "host_type": "domain", "registered_domain": f"h{i}.example", "first_seen_at": at}
        )  # fmt: skip
        tables[Notice].append(
            {"notice_key": f"n{i}", "url_id": i, "source": "t", "format": "csv",
             "received_at": at, "raw": ""}
        )  # fmt: skip
        opened = [at] if kind != "listed" else []
        if kind == "reopened":
            opened.append(at + timedelta(days=rng.randrange(2, 40)))
        for opened_at in opened:
            case_id += 1
            tables[Case].append(
                {"id": case_id, "url_id": i, "party_key": f"p{case_id}", "provider_id": 1,
                 "state_since": opened_at, "opened_at": opened_at}
            )  # fmt: skip
            if rng.random() < 0.8:
                sent = opened_at + timedelta(minutes=rng.randrange(1, 300))
                tables[Message].append(
                    {"id": case_id, "ticket": f"t{case_id}", "to_address": "abuse@x.invalid",
                     "kind": "notice", "subject": "", "body": "",
                     "message_id_header": f"<{case_id}@x>", "created_at": opened_at}
                )  # fmt: skip
                tables[MessageCase].append({"message_id": case_id, "case_id": case_id})
                tables[Delivery].append(
                    {"message_id": case_id, "attempted_at": sent, "transport": "smtp",
                     "outcome": "sent"}
                )  # fmt: skip
            for checked_at, online, reason in _history(rng, kind, opened_at):
                blocked = reason == "blocked-by-policy"
                tables[Check].append(
                    {"url_id": i, "case_id": None if rng.random() < 0.1 else case_id,
                     "checked_at": checked_at, "online": online and not blocked,
                     "outcome": BLOCKED_OUTCOME if blocked else ("ok" if online else "dns-fail"),
                     "inconclusive_reason": reason or None}
                )  # fmt: skip
        if kind == "listed" or rng.random() < 0.05:
            for k in range(rng.randrange(1, 5)):
                tables[Observation].append(
                    {"kind": "listing", "observed_at": at + timedelta(days=k, hours=1),
                     "source": "feed", "url_id": i, "online": k < 2 or rng.random() < 0.3}
                )  # fmt: skip
    with engine_for(url).begin() as conn:
        conn.execute(
            insert(Provider), [{"id": 1, "name": "Host", "created_at": now, "updated_at": now}]
        )
        for model, rows in tables.items():
            conn.execute(insert(model), rows)


@pytest.mark.parametrize("offline_after", [3, 2])
def test_collapsed_frame_equals_the_frame_of_every_sighting(
    db_url: str, offline_after: int
) -> None:
    populate(db_url)
    frames = []
    with engine_for(db_url).connect() as conn:
        for period in PERIODS:
            fast = build_frame(conn, period, offline_after=offline_after)
            slow = build_frame(conn, period, offline_after=offline_after, collapse=False)
            assert fast.height > 50, period
            assert_frame_equal(fast, slow, check_exact=True)
            assert figures(fast) == figures(slow)
            frames.append(fast)
        # before the first notice: an empty frame, with the same columns
        before_any = build_frame(conn, parse_period("2023"), offline_after=offline_after)
    assert before_any.is_empty() and before_any.schema == frames[0].schema
    whole = frames[0]
    # the histories the data was made to hold reached the frame, so the comparison covered them
    assert {"message", "notice", "reappearance"} <= set(whole["clock_start"].unique())
    assert set(whole["evidence"].unique()) == {"online", "not-confirmed-online", "not-checkable"}
    assert whole["removed"].any() and not whole["removed"].all()
    two_cases = whole.filter(pl.col("episode") == 0).group_by("url_id").len()
    assert (two_cases["len"] > 1).any()


def test_histories_are_counted_from_their_index_without_a_sort(db_url: str) -> None:
    """Migration 0021: SQLite groups the checks by reading ix_checks_histories alone, in order,
    with no temporary sort of the checks (tens of millions in a year of monitoring); PostgreSQL's
    planner picks by table size, measured by bench/report.py."""
    with engine_for(db_url).connect() as conn:
        if conn.dialect.name != "sqlite":
            indexes = conn.execute(
                text("SELECT indexname FROM pg_indexes WHERE tablename = 'checks'")
            ).scalars()
            assert "ix_checks_histories" in set(indexes)
            return
        compiled = summary_query(parse_period("2024")).compile(dialect=conn.dialect)
        plan = conn.exec_driver_sql(
            f"EXPLAIN QUERY PLAN {compiled}",
            tuple(compiled.params[name] for name in compiled.positiontup or ()),
        ).all()
    details = " | ".join(str(row[-1]) for row in plan)
    assert "SCAN checks USING COVERING INDEX ix_checks_histories" in details, details
    assert "TEMP B-TREE" not in details.split("observations")[0], details
