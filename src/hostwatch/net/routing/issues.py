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
