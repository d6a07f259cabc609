"""Instants as hostwatch stores them in SQLite: naive UTC text with microseconds.

:class:`hostwatch.model.base.UTCDateTime` defines the format; this is the same conversion at a
fraction of its per-call cost, without the database layer, for writers that build millions of
rows (and intake's reader processes, which must start quickly).
"""

from __future__ import annotations

from datetime import UTC, datetime


def sqlite_utc_text(value: datetime) -> str:
    """What UTCDateTime stores in SQLite for ``value``, an aware instant.

    Instants read from feeds are already in the ``UTC`` singleton, so one identity test is the
    common case; anything else is converted first. Date and time are formatted apart: the
    aware ``isoformat`` spends as long again on an offset that is then cut off.
    """
    zone = value.tzinfo
    if zone is not UTC:
        if zone is None:
            raise ValueError(f"naive datetime {value!r}: hostwatch stores aware UTC instants")
        value = value.astimezone(UTC)
    return f"{value.date().isoformat()} {value.time().isoformat('microseconds')}"
