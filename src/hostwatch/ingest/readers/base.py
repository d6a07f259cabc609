"""What every reader yields, the options they share, and the field parsing they have in common.

A reader turns a :class:`~hostwatch.ingest.streams.TextSource` into :class:`Entry` (one notice as
read, URL not yet canonical) or :class:`Rejected` (a line that cannot be one), one at a time, so
memory does not grow with the file. Problems with the whole file (no URL column) raise
:class:`FormatError`; problems with one line never raise.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from hostwatch import harmonisation as hw
from hostwatch.ingest.streams import Rejected, TextSource


@dataclass(slots=True)
class Entry:
    """One notice as read from the file; the pipeline canonicalises and stores it."""

    line: int
    raw: str
    url: str
    time: datetime | None = None
    ip: str | None = None
    classification: str | None = None
    reference: str | None = None
    source: str | None = None  # per-entry feed name (IntelMQ ``feed.name``), else the run's
    extra: dict[str, Any] | None = None
    # Feed listings that come with the notice: (time, online) pairs (history formats only).
    observations: tuple[tuple[datetime, bool], ...] = ()


@dataclass(slots=True)
class ReadOptions:
    """Column mapping and defaults a user can give on the command line."""

    url_column: str | None = None
    time_column: str | None = None
    ip_column: str | None = None
    classification_column: str | None = None
    reference_column: str | None = None
    delimiter: str | None = None
    classification: str | None = None


class FormatError(Exception):
    """The file as a whole cannot be read in the chosen format (e.g. no URL column)."""


Record = Entry | Rejected
Reader = Callable[[TextSource, ReadOptions], Iterator[Record]]

URL_NAMES = ("url", hw.SOURCE_URL, "uri", "link", "phish_url")
TIME_NAMES = (
    "time", hw.TIME_SOURCE, "timestamp", "date", "datetime", "dateadded", "submission_time",
    "first_seen", "first_seen_utc", "reported_at", "received_at", hw.TIME_OBSERVATION,
)  # fmt: skip
IP_NAMES = ("ip", hw.SOURCE_IP, "ip_address", "ipaddress", "ip address")
CLASS_NAMES = ("classification", hw.CLASSIFICATION_TYPE, "type", "threat", "category")
REF_NAMES = ("reference", "ref", "id", "report_id", "event_id", "notice_id", "phish_id")


@lru_cache(maxsize=1 << 14)
def parse_time(text: str) -> datetime:
    """An aware UTC instant from ISO 8601 (``Z``, offsets, space separator, naive = UTC) or
    Unix seconds; raises ValueError with a short reason otherwise."""
    text = text.strip()
    if not text:
        raise ValueError("empty time")
    if text.isdigit() and len(text) <= 12:
        return datetime.fromtimestamp(int(text), UTC)
    if text.endswith(" UTC"):
        text = text[:-4]
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"unparseable time {text[:40]!r}") from None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def split_csv(line: str, delimiter: str) -> list[str]:
    """Fields of one physical CSV line; raises ValueError naming the quoting problem.

    Records are never allowed to span lines: a URL contains no newline, and an unbalanced quote
    would otherwise swallow every good line after it.
    """
    if '"' not in line:
        return line.split(delimiter)
    if line.count('"') % 2:
        raise ValueError("unbalanced quotes")
    try:
        return next(csv.reader((line,), delimiter=delimiter, strict=True))
    except (csv.Error, StopIteration) as exc:
        raise ValueError(f"malformed CSV quoting ({exc})") from None


@dataclass(frozen=True)
class FixedColumns:
    """The positions of a known set of columns in a derived CSV with a header (the histories)."""

    index: tuple[int, ...]
    width: int

    @classmethod
    def from_header(cls, header: str, columns: Sequence[str], what: str) -> FixedColumns:
        names = split_csv(header.lstrip("\ufeff"), ",")
        if any(c not in names for c in columns):
            raise FormatError(f"not a {what} header: {header[:200]}")
        return cls(tuple(names.index(c) for c in columns), len(names))

    def pick(self, line: str) -> list[str]:
        """The wanted fields of one line, in ``columns`` order; ValueError says what is wrong."""
        row = split_csv(line, ",")
        if len(row) != self.width:
            raise ValueError(f"{len(row)} fields where the header has {self.width}")
        return [row[i] for i in self.index]


def sniff_delimiter(header: str) -> str:
    counts = {d: header.count(d) for d in (",", "\t", ";", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def find_column(
    names: Sequence[str], wanted: str | None, candidates: Sequence[str], what: str
) -> int | None:
    """Index of the column the user named, else of the first known name; case-insensitive."""
    lowered = [n.strip().lower() for n in names]
    if wanted is not None:
        if wanted.lower() not in lowered:
            raise FormatError(f"no {what} column {wanted!r}; columns are {', '.join(names)}")
        return lowered.index(wanted.lower())
    for candidate in candidates:
        if candidate in lowered:
            return lowered.index(candidate)
    return None


def flatten(obj: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested JSON objects to dotted keys (IntelMQ's hierarchical output to its flat names)."""
    flat: dict[str, Any] = {}
    for key, value in obj.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten(value, name + "."))
        else:
            flat[name] = value
    return flat


def text_or_none(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None
