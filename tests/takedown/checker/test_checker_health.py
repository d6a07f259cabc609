"""Outage windows recomputed from the checker's health records, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hostwatch.model.db import session_scope
from hostwatch.takedown.checker import BatchHealth, ControlReport, health_observation
from hostwatch.takedown.checker.health import outage_windows

T0 = datetime(2024, 3, 1, tzinfo=UTC)
GOOD = ControlReport(True, None)
NO_DNS = ControlReport(False, "control-dns-failed")
NO_URL = ControlReport(False, "control-url-failed")


def _batch(before: ControlReport, after: ControlReport) -> BatchHealth:
    return BatchHealth.of([], before, after, controlled=True)


def test_windows_run_from_the_first_unhealthy_batch_to_the_next_healthy_one(db_url: str) -> None:
    url = db_url
    timeline = [
        (0, "checker", _batch(GOOD, GOOD)),
        (2, "checker", _batch(GOOD, NO_DNS)),  # failed after its batch: the outage starts here
        (4, "checker", _batch(NO_DNS, NO_URL)),
        (6, "checker", _batch(GOOD, GOOD)),
        (30, "checker", _batch(NO_URL, NO_URL)),  # still going on at the period's end
        (3, "worker-2", _batch(NO_URL, GOOD)),  # another checker's window is its own
        (5, "worker-2", _batch(GOOD, GOOD)),
    ]
    with session_scope(url) as session:
        for hour, source, batch in timeline:
            session.add(health_observation(batch, T0 + timedelta(hours=hour), source))
    with session_scope(url) as session:
        whole = outage_windows(session, T0, T0 + timedelta(hours=48))
        late = outage_windows(session, T0 + timedelta(hours=5), T0 + timedelta(hours=48))
    hours = [
        ((w.start - T0) / timedelta(hours=1), (w.end - T0) / timedelta(hours=1), w.reason, w.source)
        for w in whole
    ]
    assert hours == [
        (2, 6, "control-dns-failed", "checker"),
        (3, 5, "control-url-failed", "worker-2"),
        (30, 48, "control-url-failed", "checker"),
    ]
    assert [w.batches for w in whole] == [2, 1, 1]
    assert whole[-1].ongoing and not whole[0].ongoing
    # a period starting inside an outage sees it with its real start; worker-2's window ended
    # exactly when the period starts, so it is not in it
    assert [(w.start, w.end, w.source) for w in late] == [
        (T0 + timedelta(hours=2), T0 + timedelta(hours=6), "checker"),
        (T0 + timedelta(hours=30), T0 + timedelta(hours=48), "checker"),
    ]
