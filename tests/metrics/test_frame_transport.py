"""The columnar transport gives the very frame the row-by-row path gives, on both databases.

The database is generated (seeded): 3,000 URLs with cases at three providers, a reseller and a
country that only appear after the first thousands of rows (ADBC infers types from what it
reads), URLs without a case (feed listings), unattributed URLs, stale attributions, checks that
the policy refused or that failed on our side (inconclusive), reappearances, microsecond times,
and hostile text (quotes, commas, a line break, an empty string) in URLs and names.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from polars.testing import assert_frame_equal
from sqlalchemy import insert

from hostwatch.metrics.frame import BLOCKED_OUTCOME, build_frame
from hostwatch.metrics.period import parse_period, period_between
from hostwatch.metrics.takedown import figures
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
N = 3000
PROVIDERS = ['Fast "Host" B.V.', "Slow, Host & Co", "Line\nBreak Ltd"]


def populate(url: str, seed: int = 7) -> None:
    rng = random.Random(seed)
    now = T0
    urls, notices, attributions, cases, messages, links, deliveries = [], [], [], [], [], [], []
    checks, listings = [], []
    for i in range(1, N + 1):
        at = T0 + timedelta(seconds=rng.randrange(300 * 86400), microseconds=rng.randrange(10**6))
        host = f"h{i}.example"
        text = "" if i == 17 else f'http://{host}/a,"b"?q={i}'
        urls.append(
            {"id": i, "url": text, "scheme": "http", "host": host, "host_type": "domain",
             "registered_domain": host, "first_seen_at": at}
        )  # fmt: skip
        notices.append(
            {"notice_key": f"n{i}", "url_id": i, "source": "t", "format": "csv",
             "received_at": at, "raw": ""}
        )  # fmt: skip
        if i % 5:  # every fifth URL is unattributed
            attributions.append(
                {"url_id": i, "at": at, "computed_at": now, "status": "ok", "host": host,
                 "ip": f"192.0.2.{i % 250}", "origin_asn": 64500 + i % 3,
                 "as_name": None if i < 2500 else f"AS-{i % 3}",
                 "country": None if i < 2000 else "NL", "provider_id": 1 + i % 3,
                 "reseller": "Resell, \"Ltd\"" if i > 2200 and i % 2 else None,
                 "stale": i % 7 == 0, "stale_reason": "routing:outdated" if i % 7 == 0 else None}
            )  # fmt: skip
        has_case = i % 11 != 0
        if has_case:
            cases.append(
                {"id": i, "url_id": i, "party_key": f"p{i % 3}",
                 "provider_id": (1 + i % 3) if i % 5 else None,
                 "reseller": "Sub <Net>" if i > 2800 else None,
                 "country": "DE" if i > 2900 else None, "state_since": at, "opened_at": at}
            )  # fmt: skip
            if i % 13:
                sent = at + timedelta(minutes=rng.randrange(1, 600), microseconds=rng.randrange(99))
                messages.append(
                    {"id": i, "ticket": f"t{i}", "to_address": "abuse@x.invalid", "kind": "notice",
                     "subject": "", "body": "", "message_id_header": f"<{i}@x>", "created_at": at}
                )  # fmt: skip
                links.append({"message_id": i, "case_id": i})
                deliveries.append(
                    {"message_id": i, "attempted_at": sent, "transport": "smtp",
                     "outcome": "sent" if i % 17 else "tempfail"}
                )  # fmt: skip
        t = at
        for _ in range(rng.randrange(0, 12)):
            t += timedelta(hours=rng.uniform(0.5, 30), microseconds=rng.randrange(10**6))
            online = rng.random() < 0.5
            kind = rng.random()
            reason, outcome = None, "ok" if online else "dns-fail"
            if kind < 0.05:
                reason, outcome, online = "blocked-by-policy", BLOCKED_OUTCOME, False
            elif kind < 0.15 and not online:
                reason = "resolver-timeout"
            checks.append(
                {"url_id": i, "case_id": i if has_case and rng.random() < 0.9 else None,
                 "checked_at": t, "online": online, "outcome": outcome,
                 "inconclusive_reason": reason}
            )  # fmt: skip
        if not has_case:
            for k in range(rng.randrange(1, 4)):
                listings.append(
                    {"kind": "listing", "observed_at": at + timedelta(days=k), "source": "feed",
                     "url_id": i, "online": k < 2}
                )  # fmt: skip
    with engine_for(url).begin() as conn:
        conn.execute(
            insert(Provider),
            [{"id": k + 1, "name": name, "created_at": now, "updated_at": now,
              "is_cdn": k == 2} for k, name in enumerate(PROVIDERS)],
        )  # fmt: skip
        for model, rows in (
            (Url, urls), (Notice, notices), (Attribution, attributions), (Case, cases),
            (Message, messages), (MessageCase, links), (Delivery, deliveries), (Check, checks),
            (Observation, listings),
        ):  # fmt: skip
            conn.execute(insert(model), rows)


@pytest.mark.parametrize("exclude_stale", [False, True])
def test_columnar_frame_equals_the_row_by_row_frame(db_url: str, exclude_stale: bool) -> None:
    populate(db_url)
    frames = []
    for period in (parse_period("2024-05-01..2024-09-01"), period_between(None, None)):
        with engine_for(db_url).connect() as conn:
            fast = build_frame(conn, period, exclude_stale=exclude_stale)
            slow = build_frame(conn, period, exclude_stale=exclude_stale, columnar=False)
        assert fast.height > 1000
        assert_frame_equal(fast, slow, check_exact=True)
        assert figures(fast) == figures(slow)
        frames.append(fast)
    # what the data was made to hold is in the frame, so the comparison covered it
    assert fast["stale"].any() != exclude_stale
    assert set(fast["evidence"].unique()) == {"online", "not-confirmed-online", "not-checkable"}
    assert "unattributed" in fast["provider"].to_list()
    assert {"message", "notice", "reappearance"} <= set(fast["clock_start"].unique())
    assert set(PROVIDERS) <= set(fast["provider"].unique())
    assert "" in fast["url"].to_list() and 'Resell, "Ltd"' in fast["reseller"].to_list()


def test_uncommitted_writes_are_seen_by_their_own_transaction(db_url: str) -> None:
    """A caller that wrote in its transaction (a session, a test) gets a frame that shows it."""
    populate(db_url)
    period = period_between(None, None)
    with engine_for(db_url).connect() as conn:
        before = build_frame(conn, period).height
        conn.execute(
            insert(Url),
            [{"id": N + 1, "url": "http://new.example/", "scheme": "http",
              "host": "new.example", "host_type": "domain", "first_seen_at": T0}],
        )  # fmt: skip
        conn.execute(
            insert(Notice),
            [{"notice_key": "new", "url_id": N + 1, "source": "t", "format": "csv",
              "received_at": T0, "raw": ""}],
        )  # fmt: skip
        assert build_frame(conn, period).height == before + 1
        conn.rollback()
