"""X-ARF v4 abuse reports (JSON): one per file, one per line, or an array of them.

The reported location is ``Report.Url``/``Report.SourceUrl``, or ``Report.Source`` read by its
``SourceType`` (a URI, or an IP address, which becomes ``http://<ip>/``).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from typing import Any

from hostwatch.ingest.readers.base import Entry, ReadOptions, Record, parse_time, text_or_none
from hostwatch.ingest.readers.jsonstream import json_values
from hostwatch.ingest.streams import Rejected, TextSource

KEPT_FIELDS = ("ReportClass", "ReportType", "SourceType", "Service", "Port")


def read(source: TextSource, options: ReadOptions) -> Iterator[Record]:
    for item in json_values(source):
        if isinstance(item, Rejected):
            yield item
            continue
        number, raw, value = item
        if not isinstance(value, dict) or not isinstance(value.get("Report"), dict):
            yield Rejected(number, raw, "not an X-ARF report (no Report object)")
            continue
        if str(value.get("Version", "")).strip() != "4":
            yield Rejected(number, raw, f"X-ARF version {str(value.get('Version'))[:10]!r}, not 4")
            continue
        report: dict[str, Any] = value["Report"]
        url, ip = _location(report)
        if url is None:
            yield Rejected(number, raw, "report has no Url, SourceUrl or usable Source")
            continue
        time_text = text_or_none(report.get("Date"))
        try:
            time = parse_time(time_text) if time_text else None
        except ValueError as exc:
            yield Rejected(number, raw, f"Date: {exc}")
            continue
        reporter = value.get("ReporterInfo")
        org = text_or_none(reporter.get("ReporterOrg")) if isinstance(reporter, dict) else None
        report_type = text_or_none(report.get("ReportType"))
        extra = {f: str(report[f]) for f in KEPT_FIELDS if text_or_none(report.get(f))}
        yield Entry(
            number,
            raw,
            url,
            time,
            ip,
            report_type.lower() if report_type else options.classification,
            text_or_none(report.get("ReportId")) or text_or_none(value.get("ReportId")),
            org,
            extra or None,
        )


def _location(report: dict[str, Any]) -> tuple[str | None, str | None]:
    for key in ("Url", "SourceUrl"):
        url = text_or_none(report.get(key))
        if url:
            return url, text_or_none(report.get("SourceIp"))
    source = text_or_none(report.get("Source"))
    if source is None:
        return None, None
    try:
        address = ipaddress.ip_address(source)
    except ValueError:
        return source, None
    return (f"http://[{address}]/" if address.version == 6 else f"http://{address}/"), source
