"""Warnings about input that was skipped or repaired while loading reference data.

Reference files are large and written by many hands: a broken line must not cost the rest of the
file, and it must not vanish silently either. Loaders keep going and record each problem here with
the file and line, so a command can print them and a test can assert on them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class LoadWarning:
    """One skipped or repaired piece of input, and where it was."""

    source: str
    line: int | None
    reason: str

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}" if self.line is not None else self.source
        return f"{where}: {self.reason}"


class WarningLog:
    """Collects warnings, keeping the first ``cap`` in full and counting the rest.

    A dump with millions of broken rows should still load in bounded memory and say how many.
    """

    def __init__(self, cap: int = 1000) -> None:
        self.cap = cap
        self.total = 0
        self._items: list[LoadWarning] = []

    def add(self, source: str, line: int | None, reason: str) -> None:
        self.total += 1
        if len(self._items) < self.cap:
            self._items.append(LoadWarning(str(source), line, reason))

    def extend(self, other: WarningLog) -> None:
        for item in other:
            self.add(item.source, item.line, item.reason)
        self.total += other.total - len(other)

    @property
    def items(self) -> tuple[LoadWarning, ...]:
        return tuple(self._items)

    def __iter__(self) -> Iterator[LoadWarning]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __bool__(self) -> bool:
        return self.total > 0

    def summary(self) -> str:
        """The warnings one per line, and how many were not kept."""
        lines = [str(item) for item in self._items]
        if self.total > len(self._items):
            lines.append(f"... and {self.total - len(self._items)} more")
        return "\n".join(lines)
