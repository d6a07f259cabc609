"""What kind of reference file is this? Decided by content, never by the file's name.

Imports come from anywhere (a colleague's disk, a mirror with other names, a file renamed by a
browser), and a download that returns an HTML error page with status 200 must not be stored as a
routing table. Routing tables are recognised by the routing loaders' own format detection, so a
file that ``hostwatch lookup`` reads can always be imported.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from hostwatch.net.compressed import open_binary

KINDS = (
    "rib",
    "ris",
    "pfx2as",
    "ipasn",
    "prefix-table",
    "ranges",
    "as2org",
    "asnames",
    "tags",
    "delegated",
    "ripedb",
    "rdap-bootstrap",
)
ROUTING_KINDS = ("rib", "ris", "pfx2as", "ipasn", "prefix-table", "ranges")
"""Kinds that are routing tables: stored once more in binary form when they enter the store."""

_RPSL_CLASSES = re.compile(
    rb"^(inetnum|inet6num|organisation|role|person|aut-num|irt|mntner|route|route6|as-set"
    rb"|domain|as-block|poem|key-cert|inet-rtr|filter-set|peering-set|route-set|rtr-set):",
    re.IGNORECASE,
)
_DELEGATED_VERSION = re.compile(rb"^[\d.]+\|(afrinic|apnic|arin|lacnic|ripencc|iana)\|", re.I)
_PYASN_NAMES = re.compile(rb'^\{\s*"\d+"\s*:\s*"')
_TAG_LINE = re.compile(rb"^AS\d+,", re.I)
_DATES = (
    (re.compile(r"(?<!\d)(\d{4})(\d{2})(\d{2})(?!\d)"), (1, 2, 3)),
    (re.compile(r"(?<!\d)(\d{4})-(\d{2})-(\d{2})(?!\d)"), (1, 2, 3)),
)
# routing-table formats (hostwatch.net.routing.loaders) -> kinds of the store
_ROUTING_FORMAT_KINDS = {
    "pyasn-dat": "ipasn",
    "caida-pfx2as": "pfx2as",
    "address-ranges": "ranges",
    "prefix-asn-tsv": "prefix-table",
}


@dataclass(frozen=True, slots=True)
class Recognised:
    """What a file is: its kind in the store and its format, or why it is not importable.

    ``kind`` is None for files recognised but refused (``refusal`` says why: hostwatch reads them
    from elsewhere), so the user learns what the file is instead of "not recognised".
    """

    kind: str | None
    format: str
    refusal: str = ""


def detect_kind(path: Path | str) -> str | None:
    """One of :data:`KINDS`, or None when the content is not recognised (or unreadable)."""
    found = detect(path)
    return found.kind if found is not None else None


def detect(path: Path | str) -> Recognised | None:
    """Kind and format of a file from its first 64 kB (decompressed); None if unknown."""
    path = Path(path)
    try:
        with open_binary(path) as handle:
            head = handle.read(65536)
    except (OSError, EOFError, ValueError):
        return None
    if head.startswith(b"PK\x03\x04"):  # a table stored by hostwatch (lookup reads those too)
        from hostwatch.net.routing.store import STORED_FORMAT, stored_format

        source = stored_format(path)
        if source is None:
            return None
        kind = "rib" if source == "mrt" else _ROUTING_FORMAT_KINDS.get(source, "prefix-table")
        return Recognised(kind, STORED_FORMAT)
    return recognise(head, path.name)


def kind_of_content(head: bytes, name: str = "") -> str | None:
    """Classify the first bytes of a decompressed file (the kind only)."""
    found = recognise(head, name)
    return found.kind if found is not None else None


def recognise(head: bytes, name: str = "") -> Recognised | None:
    """Classify the first bytes of a decompressed file. The name only tells a RIPE RIS dump
    from a RouteViews RIB (both MRT); everything else is decided by the bytes."""
    from hostwatch.net.routing.loaders import detect_format, mrt

    if mrt.looks_like(head):
        ris = name.lower().startswith(("bview", "updates"))
        return Recognised("ris" if ris else "rib", mrt.FORMAT)
    if not _looks_textual(head):
        return None
    lines = [line.strip() for line in head.splitlines()[:200]]
    content = [line for line in lines if line and not line.startswith((b"#", b"%", b";"))]
    first = content[0] if content else b""
    if any(line.lower().replace(b" ", b"").startswith(b"#format:") for line in lines):
        return Recognised("as2org", "caida-as2org")
    if first.startswith(b"{") and b"organizationId" in head:
        return Recognised("as2org", "caida-as2org")
    if first.startswith(b"{") and b'"services"' in head and b"RDAP" in head:
        return Recognised("rdap-bootstrap", "iana-rdap-bootstrap")
    if first.startswith(b"{") and (b'"rdapConformance"' in head or b'"objectClassName"' in head):
        return Recognised(None, "rdap-answers", _RDAP_REFUSAL)
    if b"===BEGIN ICANN DOMAINS===" in head:
        return Recognised(None, "public-suffix-list", _PSL_REFUSAL)
    if _DELEGATED_VERSION.match(first):
        return Recognised("delegated", "rir-delegated")
    if _RPSL_CLASSES.match(first):
        return Recognised("ripedb", "rpsl")
    if first.lower().startswith(b"asn,name,class"):
        return Recognised("asnames", "bgp.tools-asns")
    if _PYASN_NAMES.match(first):
        return Recognised("asnames", "pyasn-asnames")
    if first.lower().replace(b" ", b"") in (b"asn\tas_name", b"asn\tname"):
        return Recognised("asnames", "as-prefix-asnames")
    if _TAG_LINE.match(first):
        return Recognised("tags", "bgp.tools-tags")
    fmt = detect_format(head)
    if fmt in _ROUTING_FORMAT_KINDS:
        return Recognised(_ROUTING_FORMAT_KINDS[fmt], fmt)
    return None


_RDAP_REFUSAL = (
    "RDAP answers: hostwatch asks RDAP itself and keeps the answers in <state_dir>/rdap-cache"
)
_PSL_REFUSAL = (
    "a Public Suffix List: hostwatch uses the list of the publicsuffixlist package, not the store"
)


def date_in_name(name: str) -> date | None:
    """The day a file name states (``20240101``, ``2024-01-01``), or None."""
    for pattern, groups in _DATES:
        for match in pattern.finditer(name):
            try:
                return date(*(int(match.group(g)) for g in groups))
            except ValueError:
                continue
    return None


def publication_day(path: Path | str) -> date | None:
    """The day an RDAP bootstrap file was published (its ``publication`` member)."""
    try:
        with open_binary(path) as handle:
            document = json.loads(handle.read())
        return date.fromisoformat(str(document["publication"])[:10])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def delegated_day(path: Path | str) -> date | None:
    """The day in a delegated-extended version line (its end date, else its serial)."""
    with open_binary(path) as handle:
        for raw in handle:
            line = raw.strip()
            if not line or line.startswith(b"#"):
                continue
            parts = line.split(b"|")
            for field in (parts[5:6], parts[2:3]):
                if field and len(field[0]) == 8 and field[0].isdigit():
                    text = field[0].decode()
                    try:
                        return date(int(text[:4]), int(text[4:6]), int(text[6:]))
                    except ValueError:
                        continue
            return None
    return None


def dated_name(name: str, day: date | None) -> str:
    """The file name with the day in it, so snapshots of one source sit side by side."""
    if day is None or date_in_name(name) is not None:
        return name
    stamp = day.strftime("%Y%m%d")
    if name.endswith("-latest"):
        return name[: -len("latest")] + stamp
    base, packed = name, ""
    for suffix in (".gz", ".bz2", ".xz"):
        if base.endswith(suffix):
            base, packed = base[: -len(suffix)], suffix
            break
    for suffix in (".csv", ".tsv", ".json", ".txt", ".dat"):
        if base.endswith(suffix):
            return f"{base[: -len(suffix)]}.{stamp}{suffix}{packed}"
    return f"{base}.{stamp}{packed}"


def _looks_textual(head: bytes) -> bool:
    if not head:
        return False
    sample = head[:4096]
    control = sum(1 for b in sample if b < 9 or 13 < b < 32)
    return control <= len(sample) // 100
