"""Notices written back out as CSV, JSON Lines or Parquet, with IntelMQ field names.

Field names follow the IntelMQ data format so CERT pipelines can read the export directly. The
table is walked in id order a page at a time (keyset pagination), which streams on SQLite and
PostgreSQL alike. Exported values came from hostile reports: the CSV is written through
:mod:`hostwatch.csv_safety` (formulas neutralised, CR and LF quoted).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from sqlalchemy import select

from hostwatch import harmonisation as hw
from hostwatch.csv_safety import SafeDictWriter
from hostwatch.model import Notice, Url
from hostwatch.model.db import engine_for

FORMATS = ("csv", "jsonl", "parquet")
FIELDS = (
    hw.TIME_SOURCE,
    hw.SOURCE_URL,
    hw.SOURCE_FQDN,
    hw.SOURCE_IP,
    hw.SOURCE_PORT,
    hw.CLASSIFICATION_TYPE,
    hw.FEED_NAME,
    hw.EVENT_DESCRIPTION_TEXT,
    hw.EXTRA_REFERENCE,
    hw.EXTRA_FORMAT,
    hw.EXTRA_REGISTERED_DOMAIN,
    hw.EXTRA_NOTICE_KEY,
)
PAGE = 10_000


def notice_rows(database_url: str, page: int = PAGE) -> Iterator[list[dict[str, Any]]]:
    """Pages of notices as IntelMQ-named dicts (None where a field is absent)."""
    engine = engine_for(database_url)
    last = 0
    query = (
        select(
            Notice.id,
            Notice.received_at,
            Notice.source,
            Notice.format,
            Notice.reference,
            Notice.classification,
            Notice.reported_ip,
            Notice.notice_key,
            Notice.extra,
            Url.url,
            Url.host,
            Url.host_type,
            Url.port,
            Url.registered_domain,
        )
        .join(Url, Url.id == Notice.url_id)
        .order_by(Notice.id)
        .limit(page)
    )
    while True:
        with engine.connect() as conn:
            rows = conn.execute(query.where(Notice.id > last)).all()
        if not rows:
            return
        last = rows[-1].id
        yield [_event(row) for row in rows]


def _event(row: Any) -> dict[str, Any]:
    is_ip = row.host_type in ("ipv4", "ipv6")
    extra = row.extra if isinstance(row.extra, dict) else {}
    return {
        hw.TIME_SOURCE: row.received_at,
        hw.SOURCE_URL: row.url,
        hw.SOURCE_FQDN: None if is_ip else row.host,
        hw.SOURCE_IP: row.reported_ip or (row.host if is_ip else None),
        hw.SOURCE_PORT: row.port,
        hw.CLASSIFICATION_TYPE: row.classification,
        hw.FEED_NAME: row.source,
        hw.EVENT_DESCRIPTION_TEXT: extra.get(hw.EVENT_DESCRIPTION_TEXT),
        hw.EXTRA_REFERENCE: row.reference,
        hw.EXTRA_FORMAT: row.format,
        hw.EXTRA_REGISTERED_DOMAIN: row.registered_domain,
        hw.EXTRA_NOTICE_KEY: row.notice_key,
    }


def export_notices(database_url: str, fmt: str, out: Path | IO[str] | None) -> int:
    """Write every notice to ``out`` (a path, or a text stream for csv/jsonl); returns the count."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    pages = notice_rows(database_url)
    if fmt == "parquet":
        if not isinstance(out, Path):
            raise ValueError("parquet needs an output file (--out PATH)")
        return _write_parquet(pages, out)
    if isinstance(out, Path):
        with open(out, "w", encoding="utf-8", newline="") as handle:
            return _write_text(pages, fmt, handle)
    assert out is not None
    return _write_text(pages, fmt, out)


def _write_text(pages: Iterator[list[dict[str, Any]]], fmt: str, handle: IO[str]) -> int:
    count = 0
    writer = None
    if fmt == "csv":
        writer = SafeDictWriter(handle, FIELDS)
        writer.writeheader()
    for rows in pages:
        for row in rows:
            row[hw.TIME_SOURCE] = row[hw.TIME_SOURCE].isoformat().replace("+00:00", "Z")
            if writer is not None:
                writer.writerow(row)
            else:
                handle.write(json.dumps({k: v for k, v in row.items() if v is not None}) + "\n")
        count += len(rows)
    return count


def _write_parquet(pages: Iterator[list[dict[str, Any]]], path: Path) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema(
        [
            (name, pa.int32() if name == hw.SOURCE_PORT else pa.string())
            if name != hw.TIME_SOURCE
            else (name, pa.timestamp("us", tz="UTC"))
            for name in FIELDS
        ]
    )
    count = 0
    with pq.ParquetWriter(path, schema) as writer:
        for rows in pages:
            columns = {name: [row[name] for row in rows] for name in FIELDS}
            writer.write_table(pa.table(columns, schema=schema))
            count += len(rows)
        if count == 0:
            writer.write_table(schema.empty_table())
    return count
