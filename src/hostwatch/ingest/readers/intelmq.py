"""IntelMQ events (its data format's field names), one JSON object per line or an array.

Hierarchical output (``{"source": {"url": ...}}``) is flattened to the dotted names first.
"""

from __future__ import annotations

from collections.abc import Iterator

from hostwatch.ingest.readers.base import (
    Entry,
    ReadOptions,
    Record,
    flatten,
    parse_time,
    text_or_none,
)
from hostwatch.ingest.readers.jsonstream import json_values
from hostwatch.ingest.streams import Rejected, TextSource

REFERENCE_FIELDS = ("extra.reference", "rtir_id", "misp.attribute_uuid", "misp.event_uuid")
KEPT_FIELDS = (
    "event_description.text",
    "event_description.url",
    "classification.taxonomy",
    "classification.identifier",
    "feed.provider",
    "source.asn",
    "source.geolocation.cc",
)


def read(source: TextSource, options: ReadOptions) -> Iterator[Record]:
    for item in json_values(source):
        if isinstance(item, Rejected):
            yield item
            continue
        number, raw, value = item
        if not isinstance(value, dict):
            yield Rejected(number, raw, "JSON value is not an object")
            continue
        event = flatten(value)
        url = text_or_none(event.get("source.url"))
        if url is None:
            host = text_or_none(event.get("source.fqdn")) or text_or_none(event.get("source.ip"))
            if host is None:
                yield Rejected(number, raw, "event has no source.url, source.fqdn or source.ip")
                continue
            url = f"http://[{host}]/" if ":" in host else f"http://{host}/"
        time_text = text_or_none(event.get("time.source")) or text_or_none(
            event.get("time.observation")
        )
        try:
            time = parse_time(time_text) if time_text else None
        except ValueError as exc:
            yield Rejected(number, raw, f"time.source: {exc}")
            continue
        reference = next(
            (text_or_none(event[f]) for f in REFERENCE_FIELDS if text_or_none(event.get(f))), None
        )
        extra = {f: str(event[f]) for f in KEPT_FIELDS if text_or_none(event.get(f))}
        yield Entry(
            number,
            raw,
            url,
            time,
            text_or_none(event.get("source.ip")),
            text_or_none(event.get("classification.type")) or options.classification,
            reference,
            text_or_none(event.get("feed.name")),
            extra or None,
        )
