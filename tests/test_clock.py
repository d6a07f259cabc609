"""The clock is an input: pinned clocks stand still until moved, running ones move from there."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from hostwatch.clock import Clock, parse_instant


def test_pinned_clock_stands_still_and_advances() -> None:
    clock = Clock.at("2024-03-01T10:00:00Z")
    assert clock.now() == datetime(2024, 3, 1, 10, tzinfo=UTC)
    time.sleep(0.01)
    assert clock.now() == datetime(2024, 3, 1, 10, tzinfo=UTC)
    clock.advance(timedelta(hours=25))
    assert clock.now() == datetime(2024, 3, 2, 11, tzinfo=UTC)


def test_running_clock_moves_from_its_start() -> None:
    clock = Clock.at("2024-03-01T10:00:00Z", running=True)
    first = clock.now()
    time.sleep(0.02)
    assert clock.now() > first >= datetime(2024, 3, 1, 10, tzinfo=UTC)


def test_system_clock_cannot_be_moved() -> None:
    with pytest.raises(RuntimeError):
        Clock.system().advance(timedelta(seconds=1))


def test_parse_instant_reads_offsets_and_assumes_utc() -> None:
    assert parse_instant("2024-03-01T12:00:00+02:00") == datetime(2024, 3, 1, 10, tzinfo=UTC)
    assert parse_instant("2024-03-01 10:00") == datetime(2024, 3, 1, 10, tzinfo=UTC)
    with pytest.raises(ValueError):
        parse_instant("tomorrow")
