"""PhishTank dumps: ``online-valid.csv`` and ``online-valid.json`` (an array of objects).

The notice time is ``submission_time``, the reference ``phish_id``; the JSON dump's first
``details`` entry gives the IP PhishTank saw.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from hostwatch.ingest.readers.base import (
    Entry,
    FormatError,
    ReadOptions,
    Record,
    find_column,
    parse_time,
    split_csv,
    text_or_none,
)
from hostwatch.ingest.readers.csv_table import rows
from hostwatch.ingest.readers.jsonstream import json_values
from hostwatch.ingest.streams import Rejected, TextSource


def read(source: TextSource, options: ReadOptions) -> Iterator[Record]:
    if options.classification is None:
        options = replace(options, classification="phishing")
    if is_json(source):
        yield from _read_json(source, options)
    else:
        yield from _read_csv(source, options)


def is_json(source: TextSource) -> bool:
    """The JSON dump rather than the CSV one."""
    return source.head(1024).lstrip("\ufeff \t\r\n")[:1] in ("[", "{")


def _read_csv(source: TextSource, options: ReadOptions) -> Iterator[Record]:
    lines = source.lines()
    for _number, header in lines:
        if header.strip():
            break
    else:
        return
    names = split_csv(header.lstrip("\ufeff"), ",")
    url_at = find_column(names, None, ("url",), "URL")
    if url_at is None or "phish_id" not in names:
        raise FormatError(f"not a PhishTank CSV header: {header[:200]}")
    time_at = find_column(names, None, ("submission_time",), "time")
    ref_at = find_column(names, None, ("phish_id",), "reference")
    target_at = find_column(names, None, ("target",), "target")
    for record in rows(lines, ",", len(names), url_at, time_at, None, None, ref_at, options):
        if isinstance(record, Entry) and target_at is not None:
            target = split_csv(record.raw, ",")[target_at].strip()
            if target:
                record.extra = {"target": target}
        yield record


def _read_json(source: TextSource, options: ReadOptions) -> Iterator[Record]:
    for item in json_values(source):
        if isinstance(item, Rejected):
            yield item
            continue
        number, raw, value = item
        if not isinstance(value, dict) or not text_or_none(value.get("url")):
            yield Rejected(number, raw[:500], "not a PhishTank entry (no url)")
            continue
        time_text = text_or_none(value.get("submission_time"))
        try:
            time = parse_time(time_text) if time_text else None
        except ValueError as exc:
            yield Rejected(number, raw, f"submission_time: {exc}")
            continue
        target = text_or_none(value.get("target"))
        yield Entry(
            number,
            raw,
            str(value["url"]),
            time,
            _first_ip(value.get("details")),
            options.classification,
            text_or_none(value.get("phish_id")),
            extra={"target": target} if target else None,
        )


def _first_ip(details: Any) -> str | None:
    if isinstance(details, list) and details and isinstance(details[0], dict):
        return text_or_none(details[0].get("ip_address"))
    return None
