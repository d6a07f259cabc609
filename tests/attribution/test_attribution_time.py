"""Attribution within its time: offsets, IP origin, stale flags, and no today's DNS for old notices.

Real routing tables (02: pyasn 2008 and 2014; 08: the 2026 AS-Prefix table), dnsmasq on
loopback, both databases.
"""

from __future__ import annotations

import ast
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from hostwatch.attribution.batch import attribute_pending
from hostwatch.attribution.record import latest_for_notices
from hostwatch.attribution.staleness import quality_counts
from hostwatch.cli.app import app
from hostwatch.clock import Clock
from hostwatch.model import Observation
from hostwatch.model.db import engine_for, session_scope
from hostwatch.settings import Settings
from ports import free_dns_port

NOW = datetime(2026, 7, 1, 12, tzinfo=UTC)  # the clock of the DNS tests: 12 days after 08's table
TABLE_2014 = datetime(2014, 5, 13, tzinfo=UTC)
TABLE_2026 = datetime(2026, 6, 19, tzinfo=UTC)
DAY = 86400


def _latest(settings: Settings, ids: list[int]) -> list:
    with session_scope(settings.database_url) as session:
        found = latest_for_notices(session, ids)
        return [found[i] for i in ids]


def _counts(settings: Settings, start: datetime, end: datetime) -> dict[str, int]:
    with engine_for(settings.database_url).connect() as conn:
        return quality_counts(conn, start, end)


@pytest.fixture(scope="session")
def table_2008(shared_data: Path) -> Path:
    return shared_data / "02_pyasn-routeviews-ipasn/ipasn_20080501_v12.dat.gz"


@pytest.fixture(scope="session")
def routed_2014(shared_data: Path) -> str:
    """An address Team Cymru saw routed when the 2014 table was dumped."""
    cymru = ast.literal_eval(
        (shared_data / "02_pyasn-routeviews-ipasn/cymru.map").read_text().split("\n", 1)[1]
    )
    return next(ip for ip, asn in cymru.items() if asn)


def test_each_attribution_says_how_far_its_routing_table_lies_from_the_notice(
    settings, table_2008, table_2014, table_2026, routed_2014, catalogue, add_notices
) -> None:
    ids = catalogue(routing=[table_2008, table_2014, table_2026])
    at = {
        "2014": datetime(2014, 5, 20, 12, tzinfo=UTC),  # a week after the 2014 dump
        "2021": datetime(2021, 5, 20, 12, tzinfo=UTC),  # seven years after it, before 2026's
        "2026": datetime(2026, 7, 1, 12, tzinfo=UTC),
        "2005": datetime(2005, 1, 1, tzinfo=UTC),  # before every table: the 2008 one is used
        "31d": TABLE_2014 + timedelta(days=31),  # exactly at the limit
        "32d": TABLE_2014 + timedelta(days=32),
    }
    notices = dict(
        zip(
            at,
            add_notices([(f"http://{routed_2014}/{key}", when, None) for key, when in at.items()]),
            strict=True,
        )
    )
    summary = attribute_pending(settings, progress=False)
    assert summary.stale == 3 and summary.by_ip_origin == {"reported": 6}
    rows = dict(zip(notices, _latest(settings, list(notices.values())), strict=True))

    week = rows["2014"]
    assert week.ip_origin == "reported"  # the URL's host is the address
    assert week.sources["offsets"] == {"routing": -(7 * DAY + DAY // 2)}
    assert not week.stale and week.stale_reason is None

    seven_years = rows["2021"]
    assert seven_years.sources["prefix"] == f"routing:{ids[str(table_2014)]}"
    assert seven_years.origin_asn == week.origin_asn  # still attributed, but flagged
    offset = int((TABLE_2014 - at["2021"]).total_seconds())
    assert seven_years.sources["offsets"] == {"routing": offset} and offset < -7 * 365 * DAY
    assert seven_years.stale and seven_years.stale_reason == "routing:outdated"

    assert rows["2026"].sources["prefix"] == f"routing:{ids[str(table_2026)]}"
    assert rows["2026"].sources["offsets"] == {"routing": -(12 * DAY + DAY // 2)}
    assert not rows["2026"].stale

    early = rows["2005"]  # the oldest table describes a later internet than the notice
    assert (
        early.sources["offsets"]["routing"]
        == (datetime(2008, 5, 1, tzinfo=UTC) - at["2005"]).total_seconds()
    )
    assert early.stale and early.stale_reason == "routing:anachronistic"
    assert early.sources["newer_than_notice"] == [f"routing:{ids[str(table_2008)]}"]

    assert not rows["31d"].stale  # the limit itself is within it
    assert rows["32d"].stale and rows["32d"].stale_reason == "routing:outdated"

    counts = _counts(settings, datetime(2000, 1, 1, tzinfo=UTC), datetime(2030, 1, 1, tzinfo=UTC))
    assert counts == {
        "attributions": 6,
        "stale": 3,
        "outdated": 2,
        "anachronistic": 1,
        "resolved_later": 0,
        "no_contemporaneous_address": 0,
    }
    only_2021 = _counts(
        settings, datetime(2021, 1, 1, tzinfo=UTC), datetime(2022, 1, 1, tzinfo=UTC)
    )
    assert only_2021["attributions"] == 1 and only_2021["stale"] == only_2021["outdated"] == 1

    # the limit is a setting: at 40 days a table 32 days old is recent enough
    lenient = settings.model_copy(update={"stale_routing_days": 40})
    attribute_pending(lenient, recompute=True, progress=False)
    again = dict(zip(notices, _latest(settings, list(notices.values())), strict=True))
    assert not again["32d"].stale and again["2021"].stale


def test_a_historical_host_is_not_resolved_with_todays_dns_unless_asked(
    settings, dns_server, table_2026, catalogue, add_notices
) -> None:
    catalogue(routing=[table_2026])
    long_ago = datetime(2019, 3, 1, 9, tzinfo=UTC)
    fresh, old = add_notices(
        [
            ("http://edge.hoster.test/new", NOW - timedelta(hours=2), None),
            ("http://www.shop.test/old", long_ago, None),
        ]
    )
    live = settings.model_copy(update={"resolver": dns_server.address, "now": NOW})
    summary = attribute_pending(live, progress=False)
    assert summary.by_status == {"ok": 1, "no-contemporaneous-address": 1}
    assert summary.resolved_hosts == 1  # only the fresh notice's host was asked for
    new, historical = _latest(settings, [fresh, old])

    assert new.ip == dns_server.edge_v4 and new.ip_origin == "resolved-at-intake"
    assert 2 * 3600 <= new.sources["offsets"]["dns"] <= 2 * 3600 + 120  # answered at "now"
    assert new.sources["offsets"]["routing"] == (TABLE_2026 - new.at).total_seconds()
    assert not new.stale

    assert historical.ip is None and historical.provider_id is None
    assert historical.ip_origin is None and not historical.stale
    assert historical.reason.startswith("no contemporaneous address: www.shop.test")
    assert "--resolve-historical" in historical.reason
    with session_scope(settings.database_url) as session:
        asked = session.scalar(
            select(func.count()).select_from(Observation).where(Observation.host == "www.shop.test")
        )
    assert asked == 0  # today's DNS was not even asked
    year = (datetime(2019, 1, 1, tzinfo=UTC), datetime(2020, 1, 1, tzinfo=UTC))
    assert _counts(settings, *year)["no_contemporaneous_address"] == 1

    an_hour_on = live.model_copy(update={"now": NOW + timedelta(hours=1)})
    summary = attribute_pending(an_hour_on, recompute=True, resolve_historical=True, progress=False)
    assert summary.by_ip_origin == {"resolved-at-intake": 1, "resolved-later": 1}
    new, historical = _latest(settings, [fresh, old])
    assert historical.status == "ok" and historical.ip == dns_server.edge_v4
    assert historical.ip_origin == "resolved-later"
    later = historical.sources["offsets"]["dns"]
    since = (NOW + timedelta(hours=1) - long_ago).total_seconds()
    assert since <= later <= since + 120
    assert historical.stale
    assert historical.stale_reason.split() == ["routing:anachronistic", "dns:anachronistic"]
    assert new.ip_origin == "resolved-at-intake" and not new.stale
    counts = _counts(settings, *year)
    assert counts["resolved_later"] == counts["stale"] == counts["anachronistic"] == 1
    assert counts["no_contemporaneous_address"] == 0


def test_recomputing_a_year_later_reuses_the_answer_of_the_notices_time(
    settings, dns_server, table_2026, catalogue, add_notices
) -> None:
    catalogue(routing=[table_2026])
    (notice,) = add_notices([("http://edge.hoster.test/kept", NOW - timedelta(hours=1), None)])
    attribute_pending(
        settings.model_copy(update={"resolver": dns_server.address, "now": NOW}), progress=False
    )
    # a year on, our resolver is gone: a new query would fail, the stored answer still holds
    dead = f"127.0.0.1:{free_dns_port()}"
    year_later = settings.model_copy(update={"resolver": dead, "now": NOW + timedelta(days=365)})
    summary = attribute_pending(year_later, recompute=True, progress=False)
    assert summary.resolved_hosts == 0 and summary.by_status == {"ok": 1}
    (row,) = _latest(settings, [notice])
    assert row.ip == dns_server.edge_v4 and row.ip_origin == "resolved-at-intake"
    assert 3600 <= row.sources["offsets"]["dns"] <= 3600 + 120
    assert row.sources["ips"] == f"dns:{dns_server.address}"
    assert not row.stale


def _cli(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, list(args), catch_exceptions=False, env={"COLUMNS": "200"})


def test_cli_and_api_show_origin_offsets_and_stale(
    settings, dns_server, table_2026, catalogue, add_notices, monkeypatch
) -> None:
    from hostwatch.web.app import create_app
    from hostwatch.web.auth import create_token

    monkeypatch.setenv("HOSTWATCH_RESOLVER", dns_server.address)
    monkeypatch.setenv("HOSTWATCH_NOW", NOW.isoformat())
    catalogue(routing=[table_2026])
    add_notices([("http://www.shop.test/2020", datetime(2020, 2, 2, tzinfo=UTC), None)])

    first = _cli("attribute", "--no-progress")
    assert first.exit_code == 0, first.output
    assert "no-contemporaneous-address" in first.output and "0 stale" in first.output
    again = _cli("attribute", "--recompute", "--resolve-historical", "--no-progress")
    assert again.exit_code == 0, again.output
    assert "resolved-later 1" in again.output and "1 stale" in again.output
    future = _cli("attribute", "--at", "2030-01-01T00:00:00Z", "--no-progress")
    assert future.exit_code == 2 and "after now" in future.output

    with session_scope(settings.database_url) as session:
        token = create_token(session, role="analyst", now=NOW, label="test").token
    with TestClient(create_app(settings, clock=Clock.at(NOW)), base_url="http://127.0.0.1") as c:
        items = c.get("/api/v1/attributions", headers={"Authorization": f"Bearer {token}"}).json()
    by_status = {item["status"]: item for item in items}
    assert set(by_status) == {"no-contemporaneous-address", "ok"}
    refused, resolved = by_status["no-contemporaneous-address"], by_status["ok"]
    assert refused["ip_origin"] is None and refused["stale"] is False
    assert refused["offsets"] == {}
    assert resolved["ip_origin"] == "resolved-later" and resolved["stale"] is True
    assert resolved["stale_reason"] == "routing:anachronistic dns:anachronistic"
    assert resolved["offsets"]["dns"] >= (NOW - datetime(2020, 2, 2, tzinfo=UTC)).total_seconds()
    assert (
        resolved["offsets"]["routing"]
        == (TABLE_2026 - datetime(2020, 2, 2, tzinfo=UTC)).total_seconds()
    )


@pytest.mark.parametrize(
    ("offset", "expected"),
    [
        (0, ("resolved-at-intake", "")),
        (DAY, ("resolved-at-intake", "")),  # the limit itself is contemporaneous
        (DAY + 1, ("resolved-later", "dns:anachronistic")),
        (-DAY, ("resolved-at-intake", "")),
        (-DAY - 1, ("resolved-at-intake", "dns:outdated")),  # a notice dated after the clock
    ],
)
def test_dns_answer_judged_by_its_distance_from_the_notice(offset, expected) -> None:
    from hostwatch.attribution.staleness import TimeLimits, dns_origin

    assert dns_origin(offset, TimeLimits(31 * DAY, DAY)) == expected
