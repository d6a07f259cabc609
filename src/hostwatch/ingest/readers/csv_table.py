"""Plain CSV/TSV with a header row: a URL column and optional time, IP, classification and
reference columns, found by name or named by the user."""

from __future__ import annotations

from collections.abc import Iterator

from hostwatch.ingest.readers.base import (
    CLASS_NAMES,
    IP_NAMES,
    REF_NAMES,
    TIME_NAMES,
    URL_NAMES,
    Entry,
    FormatError,
    ReadOptions,
    Record,
    find_column,
    parse_time,
    sniff_delimiter,
    split_csv,
)
from hostwatch.ingest.streams import Rejected, TextSource


def read(source: TextSource, options: ReadOptions) -> Iterator[Record]:
    lines = source.lines()
    for _number, header in lines:
        if header.strip():
            break
    else:
        return
    header = header.lstrip("\ufeff")
    delimiter = options.delimiter or sniff_delimiter(header)
    try:
        names = split_csv(header, delimiter)
    except ValueError as exc:
        raise FormatError(f"header line: {exc}") from None
    url_at = find_column(names, options.url_column, URL_NAMES, "URL")
    if url_at is None:
        raise FormatError(
            f"no URL column in the header ({', '.join(names)[:200]}); name it with --url-column"
        )
    time_at = find_column(names, options.time_column, TIME_NAMES, "time")
    ip_at = find_column(names, options.ip_column, IP_NAMES, "IP")
    class_at = find_column(names, options.classification_column, CLASS_NAMES, "classification")
    ref_at = find_column(names, options.reference_column, REF_NAMES, "reference")
    yield from rows(lines, delimiter, len(names), url_at, time_at, ip_at, class_at, ref_at, options)


def rows(
    lines: Iterator[tuple[int, str]],
    delimiter: str,
    width: int,
    url_at: int,
    time_at: int | None,
    ip_at: int | None,
    class_at: int | None,
    ref_at: int | None,
    options: ReadOptions,
    skip_comments: bool = False,
) -> Iterator[Record]:
    """Entries from data lines, the column positions already known (shared with URLhaus)."""
    default_class = options.classification
    for number, line in lines:
        if not line or (skip_comments and line.startswith("#")) or not line.strip():
            continue
        try:
            row = split_csv(line, delimiter)
        except ValueError as exc:
            yield Rejected(number, line, str(exc))
            continue
        if len(row) != width:
            yield Rejected(number, line, f"{len(row)} fields where the header has {width}")
            continue
        time = None
        if time_at is not None and row[time_at].strip():
            try:
                time = parse_time(row[time_at])
            except ValueError as exc:
                yield Rejected(number, line, str(exc))
                continue
        yield Entry(
            number,
            line,
            row[url_at],
            time,
            (row[ip_at].strip() or None) if ip_at is not None else None,
            (row[class_at].strip() or default_class) if class_at is not None else default_class,
            (row[ref_at].strip() or None) if ref_at is not None else None,
        )
