"""JSON values from a stream: JSON Lines, pretty-printed documents, or one big array.

The same feeds come in all three shapes (PhishTank's JSON dump is one array on one line of many
megabytes; X-ARF reports are often one indented document; IntelMQ writes one event per line),
so one reader walks them all without loading the file: lines for the first two, chunks for
arrays. A bad line is rejected and reading goes on at the next line.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from hostwatch.ingest.streams import Rejected, TextSource

MAX_DOCUMENT = 1 << 20  # characters in one multi-line document or array element
_DECODER = json.JSONDecoder()
_SPACE = " \t\r\n"


def json_values(source: TextSource) -> Iterator[tuple[int, str, Any] | Rejected]:
    """(line number, raw text, value) per JSON value, or a reject per unreadable piece."""
    first = source.head(4096).lstrip("\ufeff" + _SPACE)
    if first.startswith("["):
        yield from _array_values(source)
    else:
        yield from _line_values(source)


def _line_values(source: TextSource) -> Iterator[tuple[int, str, Any] | Rejected]:
    pending: list[str] = []
    start = size = 0
    for number, line in source.lines():
        stripped = line.strip().lstrip("\ufeff")
        if not pending:
            if not stripped:
                continue
            try:
                yield number, line, json.loads(stripped)
                continue
            except ValueError as exc:
                if stripped.startswith("{") and not stripped.endswith("}"):
                    pending, start, size = [line], number, len(line)
                    continue
                yield Rejected(number, line, f"invalid JSON: {_reason(exc)}")
                continue
        pending.append(line)
        size += len(line)
        if stripped.startswith(("}", "]")):
            text = "\n".join(pending)
            try:
                value = json.loads(text)
            except ValueError as exc:
                if line.startswith("}"):
                    yield Rejected(start, text, f"invalid JSON document: {_reason(exc)}")
                    pending = []
                continue
            yield start, text, value
            pending = []
        elif size > MAX_DOCUMENT:
            yield Rejected(start, pending[0], f"JSON document over {MAX_DOCUMENT} characters")
            pending = []
    if pending:
        yield Rejected(start, "\n".join(pending)[:500], "unterminated JSON document")


def _array_values(source: TextSource) -> Iterator[tuple[int, str, Any] | Rejected]:
    read = source.text.read
    buf = read(1 << 16).lstrip("\ufeff")
    line = 1
    pos = buf.index("[") + 1
    line += buf.count("\n", 0, pos)
    eof = False
    while True:
        while True:
            while pos < len(buf) and buf[pos] in _SPACE + ",":
                if buf[pos] == "\n":
                    line += 1
                pos += 1
            if pos < len(buf) or eof:
                break
            buf, pos = read(1 << 16), 0
            eof = not buf
        if pos >= len(buf):
            yield Rejected(line, "", "JSON array not closed (file ends early)")
            return
        if buf[pos] == "]":
            return
        try:
            value, end = _DECODER.raw_decode(buf, pos)
        except ValueError as exc:
            if not eof and len(buf) - pos < MAX_DOCUMENT:
                more = read(1 << 16)
                eof = not more
                buf = buf[pos:] + more
                pos = 0
                continue
            yield Rejected(
                line, buf[pos : pos + 200], f"invalid JSON in array: {_reason(exc)}; rest skipped"
            )
            return
        text = buf[pos:end]
        yield line, text, value
        line += text.count("\n")
        pos = end


def _reason(exc: ValueError) -> str:
    return getattr(exc, "msg", None) or str(exc)[:80]
