"""OpenPhish text feeds: one URL per line, no time (the notice time is the ingest time)."""

from __future__ import annotations

from collections.abc import Iterator

from hostwatch.ingest.readers.base import Entry, ReadOptions, Record
from hostwatch.ingest.streams import TextSource


def read(source: TextSource, options: ReadOptions) -> Iterator[Record]:
    classification = options.classification or "phishing"
    for number, line in source.lines():
        url = line.strip()
        if url and not url.startswith("#"):
            yield Entry(number, line, url, classification=classification)
