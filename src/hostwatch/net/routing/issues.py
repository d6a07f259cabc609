"""Problems found while reading a routing table, kept as data rather than log lines.

A table from the wild has malformed rows, host bits set, default routes and duplicates. Each is
recorded with file and line so a user can check the source, and the good rest is loaded.
"""

from __future__ import annotations

from typing import NamedTuple


class LoadIssue(NamedTuple):
    """One problem in a source file; ``line`` is the 1-based line (MRT: the record number)."""

    file: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.reason}"


_CATEGORIES = (
    ("AS_TRANS", "origin AS_TRANS 23456"),
    ("special-purpose", "special-purpose space routed"),
    ("default route", "default route skipped"),
    ("host bits", "host bits set"),
    ("duplicate row", "duplicate rows"),
    ("truncated", "file truncated"),
    ("ends early", "file truncated"),
    ("overlaps", "overlapping ranges skipped"),
    ("no usable routes", "no usable routes"),
    ("not RIB entries", "MRT records that are not RIB entries"),
    ("no origin AS", "no origin in the AS path"),
    ("origin AS", "invalid origin AS"),
)


def category(issue: LoadIssue) -> str:
    """What kind of problem an issue is, for counting (its text names the particular row)."""
    for needle, label in _CATEGORIES:
        if needle in issue.reason:
            return label
    return "malformed rows"


def summary_line(name: str, issues: list[LoadIssue]) -> str | None:
    """All problems of one table in one line, counted by kind (None when there are none)."""
    if not issues:
        return None
    counts: dict[str, int] = {}
    for issue in issues:
        label = category(issue)
        counts[label] = counts.get(label, 0) + 1
    kinds = ", ".join(f"{n} {label}" for label, n in sorted(counts.items(), key=lambda x: -x[1]))
    noun = "warning" if len(issues) == 1 else "warnings"
    return f"{name}: {len(issues)} {noun} ({kinds})"
