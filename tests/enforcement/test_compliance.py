"""Each row of the compliance table (enforcement/compliance.py), and the checker's own outage."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hostwatch.enforcement.compliance import Seen, from_issue, judge, order_status

ISSUED = datetime(2025, 5, 1, 8, 0, tzinfo=UTC)
DEADLINE = ISSUED + timedelta(hours=12)


def at(hours: float) -> datetime:
    return ISSUED + timedelta(hours=hours)


def checks(*pattern: tuple[float, bool]) -> list[Seen]:
    return [Seen(at(h), online) for h, online in pattern]


def test_removal_confirmed_before_the_deadline_is_met() -> None:
    seen = checks((0, True), (5, False), (6, False), (7, False))
    j = judge(seen, DEADLINE, at(20), offline_after=3)
    assert (j.outcome, j.removed_at, j.last_online_at) == ("met", at(5), at(0))


def test_confirming_run_that_starts_before_the_deadline_is_met_even_if_it_ends_after() -> None:
    seen = checks((0, True), (11.5, False), (12.5, False), (13.5, False))
    assert judge(seen, DEADLINE, at(20), offline_after=3).outcome == "met"


def test_online_at_the_deadline_is_missed() -> None:
    seen = checks((0, True), (12, True), (13, False), (14, False), (15, False))
    j = judge(seen, DEADLINE, at(20), offline_after=3)
    assert (j.outcome, j.online_after_deadline_at) == ("missed", at(12))


def test_interval_straddling_the_deadline_is_undetermined() -> None:
    seen = checks((0, True), (11.9, True), (12.1, False), (13.1, False), (14.1, False))
    j = judge(seen, DEADLINE, at(20), offline_after=3)
    assert (j.outcome, j.last_online_at, j.removed_at) == ("undetermined", at(11.9), at(12.1))


def test_deadline_passed_without_any_conclusive_check_is_undetermined() -> None:
    # the checker's own outage: its inconclusive checks never reach judge()
    seen = checks((0, True))
    assert judge(seen, DEADLINE, at(20), offline_after=3).outcome == "undetermined"


def test_removal_not_yet_confirmed_at_the_deadline_stays_undetermined_until_it_is() -> None:
    seen = checks((0, True), (11, False))
    assert judge(seen, DEADLINE, at(12.5), offline_after=3).outcome == "undetermined"
    seen += checks((12.7, False), (13.7, False))
    assert judge(seen, DEADLINE, at(14), offline_after=3).outcome == "met"


def test_before_the_deadline_an_unconfirmed_case_is_open() -> None:
    seen = checks((0, True), (3, False))
    assert judge(seen, DEADLINE, at(4), offline_after=3).outcome == "open"


def test_an_earlier_removal_and_reappearance_is_not_the_orders_business() -> None:
    before = [
        Seen(ISSUED - timedelta(hours=h), o)
        for h, o in ((9, True), (8, False), (7, False), (6, False), (1, True))
    ]
    seen = from_issue(before + checks((12, True)), ISSUED)
    assert judge(seen, DEADLINE, at(20), offline_after=3).outcome == "missed"


@pytest.mark.parametrize(
    ("outcomes", "withdrawn", "status"),
    [
        (["met", "met"], False, "met"),
        (["met", "missed"], False, "missed"),
        (["met", "undetermined"], False, "undetermined"),
        (["missed", "open"], False, "open"),
        (["missed"], True, "withdrawn"),
    ],
)
def test_order_status_follows_its_cases(outcomes: list[str], withdrawn: bool, status: str) -> None:
    assert order_status(outcomes, withdrawn) == status
