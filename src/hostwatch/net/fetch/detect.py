"""What kind of reference file is this? Decided by content first, by name only as a tie-breaker.

Imports come from anywhere (a colleague's disk, a mirror with other names), and a download that
returns an HTML error page with status 200 must not be stored as a routing table.
"""

from __future__ import annotations

import json
import re
import struct
from datetime import date
from pathlib import Path

from hostwatch.net.compressed import open_binary

KINDS = (
    "rib",
    "ris",
    "pfx2as",
    "as2org",
    "delegated",
    "ripedb",
    "ipasn",
    "prefix-table",
    "asnames",
    "rdap-bootstrap",
)

_MRT_TYPES = {12, 13, 16, 17}
_RPSL_CLASSES = re.compile(
    rb"^(inetnum|inet6num|organisation|role|person|aut-num|irt|mntner|route|route6|as-set"
    rb"|domain|as-block|poem|key-cert|inet-rtr|filter-set|peering-set|route-set|rtr-set):",
    re.IGNORECASE,
)
_DELEGATED_VERSION = re.compile(rb"^[\d.]+\|(afrinic|apnic|arin|lacnic|ripencc|iana)\|", re.I)
_PFX2AS = re.compile(
    rb"^\d{1,3}(\.\d{1,3}){3}\t\d{1,2}\t[\d_,]+$|^[0-9a-f:]+\t\d{1,3}\t[\d_,]+$", re.I
)
_IPASN = re.compile(rb"^[0-9a-f.:]+/\d{1,3}\t\d+$", re.I)
_DATES = (
    (re.compile(r"(?<!\d)(\d{4})(\d{2})(\d{2})(?!\d)"), (1, 2, 3)),
    (re.compile(r"(?<!\d)(\d{4})-(\d{2})-(\d{2})(?!\d)"), (1, 2, 3)),
)


def detect_kind(path: Path | str) -> str | None:
    """One of :data:`KINDS`, or None when the content is not recognised (or unreadable)."""
    path = Path(path)
    try:
        with open_binary(path) as handle:
            head = handle.read(65536)
    except (OSError, EOFError, ValueError):
        return None
    return kind_of_content(head, path.name)


def kind_of_content(head: bytes, name: str = "") -> str | None:
    """Classify the first bytes of a decompressed file."""
    lower = name.lower()
    if len(head) >= 12:
        mrt_type = struct.unpack("!H", head[4:6])[0]
        length = struct.unpack("!I", head[8:12])[0]
        if mrt_type in _MRT_TYPES and length < 1 << 24 and not _looks_textual(head[:64]):
            return "ris" if lower.startswith(("bview", "updates")) else "rib"
    if not _looks_textual(head):
        return None
    lines = [line.strip() for line in head.splitlines()[:200]]
    content = [line for line in lines if line and not line.startswith((b"#", b"%", b";"))]
    if any(
        line.lower().startswith(b"# format:") or line.lower().startswith(b"# format :")
        for line in lines
    ):
        return "as2org"
    if content and content[0].startswith(b"{") and b"organizationId" in head:
        return "as2org"
    if content and content[0].startswith(b"{") and b'"services"' in head and b"RDAP" in head:
        return "rdap-bootstrap"
    if content and _DELEGATED_VERSION.match(content[0]):
        return "delegated"
    if content and _RPSL_CLASSES.match(content[0]):
        return "ripedb"
    if content and content[0].lower().startswith(b"asn,name,class"):
        return "asnames"
    if content and content[0].startswith(b"{") and lower.startswith("asnames"):
        return "asnames"
    if content and content[0].lower().replace(b" ", b"") in (b"asn\tas_name", b"asn\tname"):
        return "asnames"
    if content and content[0].lower().startswith(b"prefix\t"):
        return "prefix-table"
    if content and all(_PFX2AS.match(line) for line in content[:20]):
        return "pfx2as"
    if content and all(_IPASN.match(line) for line in content[:20]):
        return "ipasn"
    return None


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
