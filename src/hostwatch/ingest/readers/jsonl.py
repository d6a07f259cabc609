"""JSON Lines (or a JSON array) of flat or nested objects, fields found by name or mapping."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from hostwatch.ingest.readers.base import (
    CLASS_NAMES,
    IP_NAMES,
    REF_NAMES,
    TIME_NAMES,
    URL_NAMES,
    Entry,
    ReadOptions,
    Record,
    flatten,
    parse_time,
    text_or_none,
)
from hostwatch.ingest.readers.jsonstream import json_values
from hostwatch.ingest.streams import Rejected, TextSource


def read(source: TextSource, options: ReadOptions) -> Iterator[Record]:
    for item in json_values(source):
        if isinstance(item, Rejected):
            yield item
            continue
        number, raw, value = item
        if not isinstance(value, dict):
            yield Rejected(number, raw, "JSON value is not an object")
            continue
        fields = {key.lower(): val for key, val in flatten(value).items()}
        url = _pick(fields, options.url_column, URL_NAMES)
        if not isinstance(url, str) or not url.strip():
            yield Rejected(number, raw, "no URL field")
            continue
        time_text = text_or_none(_pick(fields, options.time_column, TIME_NAMES))
        try:
            time = parse_time(time_text) if time_text else None
        except ValueError as exc:
            yield Rejected(number, raw, str(exc))
            continue
        yield Entry(
            number,
            raw,
            url,
            time,
            text_or_none(_pick(fields, options.ip_column, IP_NAMES)),
            text_or_none(_pick(fields, options.classification_column, CLASS_NAMES))
            or options.classification,
            text_or_none(_pick(fields, options.reference_column, REF_NAMES)),
        )


def _pick(fields: dict[str, Any], wanted: str | None, names: tuple[str, ...]) -> Any:
    if wanted is not None:
        return fields.get(wanted.lower())
    for name in names:
        if name in fields:
            return fields[name]
    return None
