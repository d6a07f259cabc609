"""Which reader a file needs, from its first 64 kB (and its name when the content is unsure).

Content decides first because feeds are renamed on the way (``feed.txt``, ``download.csv``); the
file name only breaks a tie. When neither settles it, the error names the candidates so the
user can pick one with ``--format``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from hostwatch import harmonisation as hw
from hostwatch.ingest.readers.base import URL_NAMES, flatten, sniff_delimiter, split_csv
from hostwatch.ingest.readers.urlhaus import header_of
from hostwatch.ingest.streams import TextSource

INTELMQ_KEYS = {
    hw.SOURCE_URL, hw.SOURCE_FQDN, hw.SOURCE_IP, hw.CLASSIFICATION_TYPE, hw.FEED_NAME,
    hw.TIME_SOURCE, hw.TIME_OBSERVATION,
}  # fmt: skip
NAME_HINTS = (
    ("phish_lifetimes", "phishtank-lifetimes"),
    ("online_intervals", "urlhaus-intervals"),
    ("online-valid", "phishtank"),
    ("phishtank", "phishtank"),
    ("urlhaus", "urlhaus"),
    ("openphish", "openphish"),
    ("feed_latest", "openphish"),
    ("intelmq", "intelmq"),
    ("xarf", "xarf"),
    (".jsonl", "jsonl"),
    (".tsv", "csv"),
    (".csv", "csv"),
)
_URL_LINE = re.compile(r"\s*(?:h[xt]{2}ps?|ftp|fxp)(?::|\[:\])//\S+\s*\Z", re.IGNORECASE)


class FormatUndecided(Exception):
    """The format could not be told; the message names the candidates."""


def name_hint(path: Path) -> str | None:
    name = path.name.lower()
    return next((fmt for part, fmt in NAME_HINTS if part in name), None)


def detect_format(path: Path | str) -> str:
    path = Path(path)
    with TextSource(path) as source:
        head = source.text.read(65536)
    return detect_from_text(head, path)


def detect_from_text(head: str, path: Path) -> str:
    text = head.lstrip("\ufeff")
    lines = text.splitlines()
    if len(head) == 65536 and len(lines) > 1:
        lines = lines[:-1]  # the last one may be cut
    content = [line for line in lines if line.strip()]
    if not content:
        raise FormatUndecided(f"{path}: empty (no lines to read)")
    first = content[0].strip()
    if first.startswith(("[", "{")):
        return _json_format(text, first, path)
    if first.startswith("#"):
        if any(header_of(line) for line in content if line.startswith("#")) or (
            "urlhaus" in text[:4096].lower()
        ):
            return "urlhaus"
        content = [line for line in content if not line.startswith("#")]
        if not content:
            raise FormatUndecided(f"{path}: only comment lines")
        first = content[0].strip()
    candidates: list[str] = []
    names = _header_names(first)
    if {"phish_id", "first_snapshot_date", "last_snapshot_date"} <= names:
        return "phishtank-lifetimes"
    if {"entry", "entry_type", "first_seen_utc"} <= names:
        return "urlhaus-intervals"
    if {"phish_id", "url"} <= names:
        return "phishtank"
    if names & set(URL_NAMES):
        return "csv"
    sample = content[:200]
    url_lines = sum(1 for line in sample if _URL_LINE.match(line))
    if url_lines == len(sample):
        return "openphish"
    if url_lines:
        candidates.append(f"openphish ({url_lines} of the first {len(sample)} lines are URLs)")
    if len(names) > 1:
        candidates.append("csv (header has no URL column; name it with --url-column)")
    hint = name_hint(path)
    if hint is not None and any(c.startswith(hint + " ") for c in candidates):
        return hint
    raise FormatUndecided(_undecided(path, first, candidates))


def _json_format(text: str, first: str, path: Path) -> str:
    keys = _json_keys(text, first)
    if keys is None:
        raise FormatUndecided(
            _undecided(path, first, ["jsonl", "intelmq", "xarf", "phishtank (JSON not readable)"])
        )
    if "Report" in keys or any(k.startswith("Report.") for k in keys):
        return "xarf"
    if "phish_id" in keys:
        return "phishtank"
    if keys & INTELMQ_KEYS:
        return "intelmq"
    if {k.lower() for k in keys} & set(URL_NAMES):
        return "jsonl"
    hint = name_hint(path)
    if hint in ("jsonl", "intelmq", "xarf", "phishtank"):
        return hint
    raise FormatUndecided(
        _undecided(path, first, ["jsonl (no URL field found; name it with --url-column)"])
    )


def _json_keys(text: str, first: str) -> set[str] | None:
    value: Any = None
    try:
        value = json.loads(first)
    except ValueError:
        body = text.lstrip()
        if body.startswith("["):
            body = body[1:].lstrip()
        try:
            value, _ = json.JSONDecoder().raw_decode(body)
        except ValueError:
            return None
    if isinstance(value, list):
        value = value[0] if value else None
    if not isinstance(value, dict):
        return None
    flat = flatten(value)
    return set(flat) | set(value)


def _header_names(line: str) -> set[str]:
    try:
        fields = split_csv(line, sniff_delimiter(line))
    except ValueError:
        return set()
    return {field.strip().lower() for field in fields}


def _undecided(path: Path, first: str, candidates: list[str]) -> str:
    listed = "; ".join(candidates) if candidates else "none of the known formats matches"
    return (
        f"cannot tell the format of {path} (first line {first[:80]!r}); candidates: {listed}. "
        "Choose one with --format."
    )
