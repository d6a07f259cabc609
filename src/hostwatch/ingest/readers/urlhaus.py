"""URLhaus CSV exports: the full, recent and online dumps and the per-ASN, per-country and
per-TLD feeds.

Their columns differ between exports, so the columns are read from the last ``#`` comment line
that looks like a header (``# id,dateadded,url,...``); without one the full dump's columns are
assumed.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

from hostwatch.ingest.readers.base import (
    Entry,
    ReadOptions,
    Record,
    find_column,
    split_csv,
)
from hostwatch.ingest.readers.csv_table import rows
from hostwatch.ingest.streams import TextSource

DUMP_COLUMNS = (
    "id", "dateadded", "url", "url_status", "last_online", "threat", "tags", "urlhaus_link",
    "reporter",
)  # fmt: skip
KEPT_COLUMNS = ("threat", "tags", "url_status", "asn", "country", "tld", "reporter")


def header_of(comment: str) -> list[str] | None:
    """Column names from a ``# a,b,c`` comment line, if it is a header (has a url column)."""
    text = comment.lstrip("#").strip()
    try:
        names = [n.strip().lower() for n in split_csv(text, ",")]
    except ValueError:
        return None
    return names if "url" in names and len(names) > 1 else None


def read(source: TextSource, options: ReadOptions) -> Iterator[Record]:
    if options.classification is None:
        options = replace(options, classification="malware-distribution")
    lines = source.lines()
    names: list[str] = list(DUMP_COLUMNS)
    first_data: tuple[int, str] | None = None
    for number, line in lines:
        if line.startswith("#"):
            names = header_of(line) or names
        elif line.strip():
            first_data = (number, line)
            break
    if first_data is None:
        return
    url_at = names.index("url")
    time_at = find_column(names, None, ("dateadded", "date_added", "firstseen"), "time")
    ip_at = find_column(names, None, ("ip_address", "ip", "host_ip"), "IP")
    ref_at = find_column(names, None, ("id", "urlhaus_id"), "reference")
    kept = [(names.index(c), c) for c in KEPT_COLUMNS if c in names]

    def all_lines() -> Iterator[tuple[int, str]]:
        yield first_data
        yield from lines

    records = rows(
        all_lines(), ",", len(names), url_at, time_at, ip_at, None, ref_at, options, True
    )
    for record in records:
        if isinstance(record, Entry) and kept:
            fields = split_csv(record.raw, ",")
            record.extra = {name: fields[at] for at, name in kept if fields[at]} or None
        yield record
