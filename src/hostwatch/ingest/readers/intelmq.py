"""IntelMQ events (its data format's field names), one JSON object per line or an array.

Hierarchical output (``{"source": {"url": ...}}``) is flattened to the dotted names first.
"""

from __future__ import annotations

from collections.abc import Iterator

from hostwatch import harmonisation as hw
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

REFERENCE_FIELDS = (hw.EXTRA_REFERENCE, hw.RTIR_ID, hw.MISP_ATTRIBUTE_UUID, hw.MISP_EVENT_UUID)
KEPT_FIELDS = (
    hw.EVENT_DESCRIPTION_TEXT,
    hw.EVENT_DESCRIPTION_URL,
    hw.CLASSIFICATION_TAXONOMY,
    hw.CLASSIFICATION_IDENTIFIER,
    hw.FEED_PROVIDER,
    hw.SOURCE_ASN,
    hw.SOURCE_GEOLOCATION_CC,
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
        url = text_or_none(event.get(hw.SOURCE_URL))
        if url is None:
            host = text_or_none(event.get(hw.SOURCE_FQDN)) or text_or_none(event.get(hw.SOURCE_IP))
            if host is None:
                yield Rejected(number, raw, "event has no source.url, source.fqdn or source.ip")
                continue
            url = f"http://[{host}]/" if ":" in host else f"http://{host}/"
        time_text = text_or_none(event.get(hw.TIME_SOURCE)) or text_or_none(
            event.get(hw.TIME_OBSERVATION)
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
            text_or_none(event.get(hw.SOURCE_IP)),
            text_or_none(event.get(hw.CLASSIFICATION_TYPE)) or options.classification,
            reference,
            text_or_none(event.get(hw.FEED_NAME)),
            extra or None,
        )
