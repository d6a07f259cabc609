"""One reader per notice format; :data:`READERS` maps the ``--format`` names to them."""

from __future__ import annotations

from hostwatch.ingest.readers import (
    csv_table,
    intelmq,
    jsonl,
    openphish,
    phishtank,
    phishtank_lifetimes,
    urlhaus,
    urlhaus_intervals,
    xarf,
)
from hostwatch.ingest.readers.base import Entry, FormatError, Reader, ReadOptions, Record
from hostwatch.ingest.streams import TextSource

READERS: dict[str, Reader] = {
    "csv": csv_table.read,
    "jsonl": jsonl.read,
    "intelmq": intelmq.read,
    "xarf": xarf.read,
    "phishtank": phishtank.read,
    "urlhaus": urlhaus.read,
    "openphish": openphish.read,
    "phishtank-lifetimes": phishtank_lifetimes.read,
    "urlhaus-intervals": urlhaus_intervals.read,
}

# The source name a notice gets when neither ``--source`` nor the record names one.
DEFAULT_SOURCES = {
    "phishtank": "phishtank",
    "phishtank-lifetimes": "phishtank-lifetimes",
    "urlhaus": "urlhaus",
    "urlhaus-intervals": "urlhaus-intervals",
    "openphish": "openphish",
    "intelmq": "intelmq",
    "xarf": "xarf",
    "csv": "csv",
    "jsonl": "jsonl",
}


def one_record_per_line(format: str, source: TextSource) -> bool:
    """Whether every record of this file is one line that reads the same whatever came before it
    but the header, so that the file may be cut at any line and its parts read apart.

    Not so for JSON, whose documents may span lines, nor for the history formats, which gather
    one URL's listings from all over the file.
    """
    if format == "phishtank":
        return not phishtank.is_json(source)
    return format in ("csv", "urlhaus", "openphish")


__all__ = [
    "DEFAULT_SOURCES",
    "READERS",
    "Entry",
    "FormatError",
    "ReadOptions",
    "Reader",
    "Record",
    "one_record_per_line",
]
