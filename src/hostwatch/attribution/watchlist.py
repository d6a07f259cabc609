"""The watchlist: known bad resellers and networks (e.g. police warning lists), and its alerts.

Entries are (kind, value) with kind ``asn``, ``prefix``, ``org``, ``name`` or ``domain``. Every
attribution newer than the last scan is compared with them; each hit is written to the audit log
as a ``watchlist.match`` event (object: the attribution), which is the alert analysts see in the
portal and which cannot be silently removed. The scan keeps its high-water mark in the audit log
too (``watchlist.scan``), so no attribution is matched twice and none is skipped.
"""

from __future__ import annotations

import csv
import io
import ipaddress
import json
import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from hostwatch.model import Attribution, AuditEvent, Provider
from hostwatch.model.audit import record
from hostwatch.model.service import WatchlistEntry

KINDS = ("asn", "prefix", "org", "name", "domain")
log = logging.getLogger("hostwatch.attribution.watchlist")


@dataclass(frozen=True)
class ImportResult:
    added: int
    unchanged: int
    rejects: list[str]


def parse_entry(text: str, kind: str | None = None) -> tuple[str, str]:
    """(kind, normalised value); guesses the kind from the shape when none is given."""
    value = text.strip()
    if not value:
        raise ValueError("empty value")
    if kind is None:
        upper = value.upper()
        if upper.startswith("AS") and upper[2:].isdigit():
            kind = "asn"
        elif "/" in value:
            kind = "prefix"
        else:
            kind = "name"
    kind = kind.strip().lower()
    if kind not in KINDS:
        raise ValueError(f"kind {kind!r} is not one of {', '.join(KINDS)}")
    if kind == "asn":
        digits = value.upper().removeprefix("AS")
        if not digits.isdigit() or int(digits) >= 2**32:
            raise ValueError(f"{value!r} is not an AS number")
        value = str(int(digits))
    elif kind == "prefix":
        value = str(ipaddress.ip_network(value, strict=False))
    elif kind == "domain":
        value = value.lower().strip(".")
    if len(value) > 300:
        raise ValueError("value longer than 300 characters")
    return kind, value


def read_watchlist(text: str) -> tuple[list[tuple[str, str, str | None]], list[str]]:
    """Entries and rejects ("line N: reason") from CSV with a kind,value[,note] header or lines."""
    entries: list[tuple[str, str, str | None]] = []
    rejects: list[str] = []
    lines = text.splitlines()
    header = [h.strip().lower() for h in next(csv.reader([lines[0]]))] if lines else []
    if "value" in header:
        reader = csv.DictReader(io.StringIO(text))
        for n, row in enumerate(reader, start=2):
            try:
                row = {(k or "").strip().lower(): (v or "") for k, v in row.items()}
                kind, value = parse_entry(row.get("value", ""), row.get("kind") or None)
                entries.append((kind, value, row.get("note") or None))
            except (ValueError, AttributeError) as exc:
                rejects.append(f"line {n}: {exc}")
        return entries, rejects
    for n, line in enumerate(lines, start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            kind, value = parse_entry(line)
            entries.append((kind, value, None))
        except ValueError as exc:
            rejects.append(f"line {n}: {exc}")
    return entries, rejects


def import_watchlist(
    session: Session, path: Path, list_name: str, now: datetime, actor: str = "cli"
) -> ImportResult:
    text = path.read_bytes().decode("utf-8", errors="replace")
    entries, rejects = read_watchlist(text)
    added = unchanged = 0
    for kind, value, note in entries:
        exists = session.scalar(
            select(WatchlistEntry.id).where(
                WatchlistEntry.kind == kind,
                WatchlistEntry.value == value,
                WatchlistEntry.list_name == list_name,
            )
        )
        if exists:
            unchanged += 1
            continue
        session.add(
            WatchlistEntry(kind=kind, value=value, list_name=list_name, note=note, created_at=now)
        )
        session.flush()
        added += 1
    record(
        session,
        at=now,
        actor=actor,
        action="watchlist.import",
        object_type="watchlist",
        object_id=list_name,
        data={"added": added, "rejected": len(rejects), "file": path.name},
    )
    return ImportResult(added, unchanged, rejects)


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def matches(
    att: Attribution, provider_name: str | None, entries: list[WatchlistEntry]
) -> list[WatchlistEntry]:
    """The entries this attribution hits."""
    names = {s.casefold() for s in (att.as_org, att.as_name, att.reseller, provider_name) if s}
    chain = {s.casefold() for s in _strings(att.whois_chain)}
    ip = None
    if att.ip:
        try:
            ip = ipaddress.ip_address(att.ip)
        except ValueError:
            ip = None
    hits = []
    for e in entries:
        if e.kind == "asn":
            hit = att.origin_asn is not None and str(att.origin_asn) == e.value
        elif e.kind == "prefix":
            network = ipaddress.ip_network(e.value, strict=False)
            hit = ip is not None and ip.version == network.version and ip in network
        elif e.kind in ("org", "name"):
            hit = e.value.casefold() in names or e.value.casefold() in chain
        else:
            host = (att.host or "").lower()
            hit = host == e.value or host.endswith("." + e.value)
        if hit:
            hits.append(e)
    return hits


def _high_water(session: Session) -> int:
    data = session.scalar(
        select(AuditEvent.data)
        .where(AuditEvent.action == "watchlist.scan")
        .order_by(AuditEvent.id.desc())
        .limit(1)
    )
    return int((data or {}).get("last_attribution_id", 0))


def scan(session: Session, now: datetime, actor: str = "watchlist", batch: int = 5000) -> int:
    """Match attributions added since the last scan; returns the number of alerts written."""
    entries = list(session.scalars(select(WatchlistEntry)))
    last = _high_water(session)
    alerts = 0
    highest = last
    while True:
        rows = session.execute(
            select(Attribution, Provider.name)
            .outerjoin(Provider, Provider.id == Attribution.provider_id)
            .where(Attribution.id > highest)
            .order_by(Attribution.id)
            .limit(batch)
        ).all()
        if not rows:
            break
        for att, provider_name in rows:
            highest = att.id
            for e in matches(att, provider_name, entries):
                alerts += 1
                data = {
                    "list": e.list_name,
                    "kind": e.kind,
                    "value": e.value,
                    "url_id": att.url_id,
                    "provider_id": att.provider_id,
                }
                record(
                    session,
                    at=now,
                    actor=actor,
                    action="watchlist.match",
                    object_type="attribution",
                    object_id=att.id,
                    reason=e.note,
                    data=data,
                )
                log.warning(json.dumps({"event": "watchlist.match", "attribution": att.id, **data}))
    if highest != last:
        record(
            session,
            at=now,
            actor=actor,
            action="watchlist.scan",
            object_type="watchlist",
            object_id="*",
            data={"last_attribution_id": highest, "alerts": alerts},
        )
    return alerts


_SCAN_LOCK = 0x68775753  # "hwWS": one scanner at a time across server processes


def scan_exclusive(session: Session, now: datetime, actor: str = "watchlist") -> int | None:
    """:func:`scan` unless another process is scanning right now (then None)."""
    if session.get_bind().dialect.name == "postgresql":
        got = session.scalar(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": _SCAN_LOCK})
        if not got:
            return None
    return scan(session, now, actor)


def alerts(session: Session, limit: int = 200) -> list[AuditEvent]:
    return list(
        session.scalars(
            select(AuditEvent)
            .where(AuditEvent.action == "watchlist.match")
            .order_by(AuditEvent.id.desc())
            .limit(limit)
        )
    )
