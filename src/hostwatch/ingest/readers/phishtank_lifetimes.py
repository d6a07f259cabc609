"""PhishTank lifetimes: one row per phish with the first and last daily snapshot that listed it.

Each row is a notice at ``submission_time`` plus feed listings: online at submission, at the
first and the last snapshot that listed it, offline at the first snapshot that no longer did
(none if still listed at the end). A snapshot's time is its commit time from
``snapshot_dates.csv`` next to the file, else 06:00 UTC of its date (when the snapshots were
taken).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time
from pathlib import Path

from hostwatch.ingest.readers.base import (
    Entry,
    FixedColumns,
    ReadOptions,
    Record,
    parse_time,
)
from hostwatch.ingest.streams import Rejected, TextSource

COLUMNS = (
    "phish_id", "url", "submission_time", "verification_time", "target", "first_snapshot_date",
    "last_snapshot_date", "first_absent_snapshot_date",
)  # fmt: skip
SNAPSHOT_HOUR = time(6, 0, tzinfo=UTC)


def snapshot_times(folder: Path) -> dict[str, datetime]:
    """Snapshot date -> commit time, from ``snapshot_dates.csv`` if the folder has one."""
    path = folder / "snapshot_dates.csv"
    if not path.exists():
        return {}
    times: dict[str, datetime] = {}
    with open(path, encoding="utf-8") as handle:
        for line in handle.read().splitlines()[1:]:
            day, _, stamp = line.partition(",")
            try:
                times[day] = datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S %z").astimezone(UTC)
            except ValueError:
                continue
    return times


def read(source: TextSource, options: ReadOptions) -> Iterator[Record]:
    classification = options.classification or "phishing"
    commits = snapshot_times(source.path.parent)

    def at(day: str) -> datetime:
        found = commits.get(day)
        return found or datetime.combine(date.fromisoformat(day), SNAPSHOT_HOUR)

    lines = source.lines()
    columns = FixedColumns.from_header(next(lines, (0, ""))[1], COLUMNS, "phish_lifetimes")
    for number, line in lines:
        if not line.strip():
            continue
        try:
            pid, url, submitted, _verified, target, first, last, absent = columns.pick(line)
            notice_time = parse_time(submitted)
            seen = [(notice_time, True), (at(first), True), (at(last), True)]
            if absent:
                seen.append((at(absent), False))
        except ValueError as exc:
            yield Rejected(number, line, str(exc))
            continue
        yield Entry(
            number,
            line,
            url,
            notice_time,
            None,
            classification,
            pid,
            extra={"target": target} if target else None,
            observations=tuple(dict.fromkeys(seen)),
        )
