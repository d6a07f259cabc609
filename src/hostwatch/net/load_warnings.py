"""Warnings about input that was skipped or repaired while loading reference data.

Reference files are large and written by many hands: a broken line must not cost the rest of the
file, and it must not vanish silently either. Loaders keep going and record each problem here with
the file and line, so a command can print them and a test can assert on them. The record is the
routing tables' :class:`LoadIssue` (line 0: the problem concerns the whole file), so every loader
in :mod:`hostwatch.net` reports problems the same way.
"""

from __future__ import annotations

from collections.abc import Iterator

from hostwatch.net.routing.issues import LoadIssue


class WarningLog:
    """Collects :class:`LoadIssue` records, keeping the first ``cap`` and counting the rest.

    A dump with millions of broken rows should still load in bounded memory and say how many.
    """

    def __init__(self, cap: int = 1000) -> None:
        self.cap = cap
        self.total = 0
        self._items: list[LoadIssue] = []

    def add(self, source: str, line: int | None, reason: str) -> None:
        self.total += 1
        if len(self._items) < self.cap:
            self._items.append(LoadIssue(str(source), int(line or 0), reason))

    def extend(self, other: WarningLog) -> None:
        for item in other:
            self.add(item.file, item.line, item.reason)
        self.total += other.total - len(other)

    def __iter__(self) -> Iterator[LoadIssue]:
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
