"""URLhaus online-host intervals: per listed host, each run of snapshots that listed it.

Each interval is a notice at ``first_seen_utc`` (a reappearance is a new notice) with feed
listings: online when first seen, online at the last snapshot that still listed it (from
``urlhaus_filter_snapshots.csv.gz`` next to the file, when present), offline at
``first_absent_utc`` (none if still listed at the end). Host entries become ``http://<host>/``.
Some snapshots wrote entries as Adblock filters (``||host/path^$all``); the decoration is removed.
"""

from __future__ import annotations

import bisect
import csv
import gzip
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from hostwatch.ingest.readers.base import (
    Entry,
    FixedColumns,
    ReadOptions,
    Record,
    parse_time,
)
from hostwatch.ingest.streams import Rejected, TextSource

COLUMNS = ("entry", "entry_type", "interval_idx", "first_seen_utc", "first_absent_utc")
SNAPSHOTS = "urlhaus_filter_snapshots.csv.gz"
_FILTER_OPTIONS = re.compile(r"\^?\$[a-z,~=\-]*\Z")


def plain_entry(entry: str) -> str:
    """The host or host/path of an entry, without Adblock filter syntax."""
    if entry.startswith("||"):
        entry = entry[2:]
    return _FILTER_OPTIONS.sub("", entry).rstrip("^")


def snapshot_times(folder: Path) -> list[datetime]:
    """Sorted times of every list snapshot, if the snapshots table lies next to the file."""
    path = folder / SNAPSHOTS
    if not path.exists():
        return []
    times = []
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            stamp = row.get("list_updated_header_utc") or row.get("commit_time") or ""
            try:
                times.append(parse_time(stamp))
            except ValueError:
                continue
    return sorted(times)


def read(source: TextSource, options: ReadOptions) -> Iterator[Record]:
    classification = options.classification or "malware-distribution"
    snapshots = snapshot_times(source.path.parent)
    lines = source.lines()
    columns = FixedColumns.from_header(next(lines, (0, ""))[1], COLUMNS, "URLhaus intervals")
    for number, line in lines:
        if not line.strip():
            continue
        try:
            entry, kind, interval, first_text, absent_text = columns.pick(line)
            first = parse_time(first_text)
            absent = parse_time(absent_text) if absent_text else None
        except ValueError as exc:
            yield Rejected(number, line, str(exc))
            continue
        seen = [(first, True)]
        if snapshots:
            at = bisect.bisect_left(snapshots, absent) if absent else len(snapshots)
            if at and snapshots[at - 1] > first:
                seen.append((snapshots[at - 1], True))
        if absent is not None:
            seen.append((absent, False))
        host = plain_entry(entry)
        url = f"http://{host}" if "/" in host else f"http://{host}/"
        yield Entry(
            number,
            line,
            url,
            first,
            host if kind == "ipv4" else None,
            classification,
            f"{entry}#{interval}",
            observations=tuple(seen),
        )
