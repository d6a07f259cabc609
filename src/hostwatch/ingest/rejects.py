"""The rejects file: every input line that did not become a notice, with its line and reason.

Rejected lines are hostile more often than not, so the excerpt is cut short, control characters
are shown escaped, and cells that a spreadsheet would run as a formula are defused. The file is
only created when there is something to put in it.
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from pathlib import Path
from typing import IO

from hostwatch.csv_safety import SafeDictWriter

EXCERPT = 200
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")
_NUMBER = re.compile(r"\d+")


def excerpt(raw: str) -> str:
    text = raw[:EXCERPT]
    text = _UNPRINTABLE.sub(lambda m: m[0].encode("unicode_escape").decode("ascii"), text)
    return text + ("..." if len(raw) > EXCERPT else "")


class RejectsFile:
    """Appends ``file,line,reason,raw_excerpt`` rows; counts reasons for the summary."""

    HEADER = ("file", "line", "reason", "raw_excerpt")

    def __init__(self, path: Path) -> None:
        self.path = path
        self.reasons: Counter[str] = Counter()
        self._handle: IO[str] | None = None
        self._writer: SafeDictWriter | None = None

    @property
    def count(self) -> int:
        return self.reasons.total()

    def add(self, file: str, line: int, reason: str, raw: str) -> None:
        self.reasons[_reason_kind(reason)] += 1
        if self._handle is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._handle = open(self.path, "a", encoding="utf-8", newline="")  # noqa: SIM115 (kept open across adds)
            self._writer = SafeDictWriter(
                self._handle, self.HEADER, lineterminator="\r\n", quoting=csv.QUOTE_ALL
            )
            if self._handle.tell() == 0:
                self._writer.writeheader()
        assert self._writer is not None
        self._writer.writerow(
            {
                "file": file,
                "line": line,
                "reason": excerpt(reason),
                "raw_excerpt": excerpt(raw),
            }
        )

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


def _reason_kind(reason: str) -> str:
    """Reasons grouped for the on-screen summary: quoted values and numbers folded."""
    return _NUMBER.sub("N", _QUOTED.sub("'...'", reason))
