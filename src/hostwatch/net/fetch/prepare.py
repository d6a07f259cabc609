"""A file entering the reference store is read once, as attribution will read it.

So a file that cannot be used is refused at the door with its reason, never found unusable (or
silently skipped) later; the store learns how many rows it holds and which series of its kind it
continues (e.g. which RIR a delegated file is from, which tag a tag list gives, an IPv6-only
table), all from the content; and a routing table is converted once into its binary form, which
every later lookup memory-maps instead of parsing the text again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from hostwatch.net.compressed import open_binary
from hostwatch.net.fetch.detect import ROUTING_KINDS

if TYPE_CHECKING:
    from hostwatch.net.routing import RoutingTable

_NAME_SERIES = {
    "bgp.tools-asns": "bgp.tools",
    "pyasn-asnames": "pyasn",
    "as-prefix-asnames": "as-prefix",
    "caida-as2org": "as2org",
}
_DELEGATED_REGISTRY = re.compile(rb"^[\d.]+\|([a-z]+)\|", re.I)
_RPSL_CLASS = re.compile(rb"^([a-z0-9-]+):", re.I)


class UnusableFileError(ValueError):
    """The file is of a known kind but cannot be read as one."""


@dataclass(frozen=True, slots=True)
class Prepared:
    """What the store records beside a file: rows, series, the day found, a routing table."""

    rows: int | None
    series: str | None
    day: date | None = None
    table: RoutingTable | None = None  # to be saved in binary form


def prepare(
    path: Path, kind: str, fmt: str | None, *, day: date | None, tag: str | None
) -> Prepared:
    """Read ``path`` as ``kind``; UnusableFileError says why it cannot be used."""
    try:
        if kind in ROUTING_KINDS:
            return _routing(path, day)
        if kind in ("asnames", "tags", "as2org"):
            return _names(path, kind, fmt, tag)
        if kind == "delegated":
            return Prepared(None, _first_match(path, _DELEGATED_REGISTRY, "delegated"))
        if kind == "ripedb":
            return Prepared(None, "rpsl:" + _first_match(path, _RPSL_CLASS, "rpsl").lower())
    except (OSError, EOFError, ValueError) as exc:
        raise UnusableFileError(str(exc)) from exc
    return Prepared(None, None)


def _routing(path: Path, day: date | None) -> Prepared:
    from hostwatch.net.routing import RoutingTable

    when = datetime(day.year, day.month, day.day, tzinfo=UTC) if day else None
    table = RoutingTable.load(path, snapshot_date=when)
    if not len(table):
        raise UnusableFileError(f"{path}: no usable routes")
    series = "routing-v6" if not table.ipv4_count else "routing"
    found = table.snapshot_date.date() if table.snapshot_date else None
    return Prepared(len(table), series, found, table)


def _names(path: Path, kind: str, fmt: str | None, tag: str | None) -> Prepared:
    from hostwatch.net.asnames import AsRegistry

    registry = AsRegistry()
    registry.add(path, tag=tag)
    if not len(registry):
        raise UnusableFileError(f"{path}: no AS could be read from it")
    series = f"tags:{tag}" if kind == "tags" else _NAME_SERIES.get(fmt or "", kind)
    return Prepared(len(registry), series)


def series_by_content(path: Path, kind: str) -> str | None:
    """The series of an AS list, delegated file or RPSL dump from its content (None: unknown).

    For files catalogued without ``hostwatch data import`` (which records the series itself).
    """
    from hostwatch.net.fetch.detect import detect

    try:
        if kind == "delegated":
            return _first_match(path, _DELEGATED_REGISTRY, "delegated")
        if kind == "rpsl":
            return "rpsl:" + _first_match(path, _RPSL_CLASS, "rpsl").lower()
    except (OSError, ValueError):
        return None
    found = detect(path)
    if found is None:
        return None
    if found.format == "bgp.tools-tags":
        from hostwatch.net.asnames import tag_in_name

        tag = tag_in_name(path.name)
        return f"tags:{tag}" if tag else None
    return _NAME_SERIES.get(found.format)


def _first_match(path: Path, pattern: re.Pattern[bytes], what: str) -> str:
    with open_binary(path) as handle:
        for raw in handle:
            line = raw.strip()
            if not line or line.startswith((b"#", b"%")):
                continue
            match = pattern.match(line)
            if match:
                return match.group(1).decode()
    raise UnusableFileError(f"{path}: no {what} header found")
