"""Reporting periods: a year (``2024``), a quarter (``2024Q1``) or ``FROM..TO`` dates.

A period is half-open, [start, end), in UTC, so consecutive quarters never count a case twice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from hostwatch.clock import parse_instant

_YEAR = re.compile(r"^(\d{4})$")
_QUARTER = re.compile(r"^(\d{4})-?[Qq]([1-4])$")


@dataclass(frozen=True, slots=True)
class Period:
    start: datetime
    end: datetime
    label: str

    def contains(self, instant: datetime) -> bool:
        return self.start <= instant < self.end


def _quarter_start(year: int, quarter: int) -> datetime:
    if quarter == 5:
        return datetime(year + 1, 1, 1, tzinfo=UTC)
    return datetime(year, 3 * (quarter - 1) + 1, 1, tzinfo=UTC)


def parse_period(text: str) -> Period:
    """Read ``2024``, ``2024Q1`` or ``2024-01-01..2024-07-01``; ValueError names the input."""
    value = text.strip()
    if match := _YEAR.match(value):
        year = int(match.group(1))
        return Period(datetime(year, 1, 1, tzinfo=UTC), datetime(year + 1, 1, 1, tzinfo=UTC), value)
    if match := _QUARTER.match(value):
        year, quarter = int(match.group(1)), int(match.group(2))
        label = f"{year}Q{quarter}"
        return Period(_quarter_start(year, quarter), _quarter_start(year, quarter + 1), label)
    if ".." in value:
        first, _, last = value.partition("..")
        try:
            start, end = parse_instant(first), parse_instant(last)
        except ValueError as exc:
            raise ValueError(f"period {text!r}: {exc}") from exc
        if end <= start:
            raise ValueError(f"period {text!r}: the end is not after the start")
        return Period(start, end, value)
    raise ValueError(f"period {text!r}: expected 2024, 2024Q1 or FROM..TO (ISO dates)")


def period_between(start: datetime | None, end: datetime | None, label: str = "all") -> Period:
    """An explicit period; open ends become the widest instants hostwatch stores."""
    return Period(
        start or datetime(1970, 1, 1, tzinfo=UTC),
        end or datetime(2200, 1, 1, tzinfo=UTC),
        label,
    )
