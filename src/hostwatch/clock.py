"""The one source of "now".

Every step that needs the current time asks a Clock, never the system directly, so a year of
notice-and-takedown can be replayed in seconds in tests and simulations, and a command run with
``--now`` behaves exactly as it would have at that moment.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta


def parse_instant(text: str) -> datetime:
    """Read an ISO 8601 instant; a naive value is taken as UTC (the only zone hostwatch stores)."""
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


class Clock:
    """Wall clock, optionally pinned or shifted; thread-safe so workers can share one.

    A pinned clock stays at its instant until advanced; that makes replays deterministic. A running
    clock started at an instant moves with real time from there, which is what a long-running
    ``hostwatch run --now ...`` needs.
    """

    def __init__(self, fixed: datetime | None = None, *, running: bool = False) -> None:
        self._lock = threading.Lock()
        self._fixed = fixed.astimezone(UTC) if fixed is not None else None
        self._running = running
        self._origin = time.monotonic()

    @classmethod
    def system(cls) -> Clock:
        return cls()

    @classmethod
    def at(cls, instant: datetime | str, *, running: bool = False) -> Clock:
        if isinstance(instant, str):
            instant = parse_instant(instant)
        return cls(instant, running=running)

    @property
    def is_fixed(self) -> bool:
        return self._fixed is not None

    def now(self) -> datetime:
        with self._lock:
            if self._fixed is None:
                return datetime.now(UTC)
            if self._running:
                return self._fixed + timedelta(seconds=time.monotonic() - self._origin)
            return self._fixed

    def advance(self, delta: timedelta) -> datetime:
        """Move a pinned clock forward (replays); a system clock cannot be moved."""
        with self._lock:
            if self._fixed is None:
                raise RuntimeError("the system clock cannot be advanced; pin it with Clock.at()")
            self._fixed += delta
            return self._fixed

    def set(self, instant: datetime) -> None:
        with self._lock:
            if self._fixed is None:
                raise RuntimeError("the system clock cannot be set; pin it with Clock.at()")
            if instant.tzinfo is None:
                raise ValueError("clock instants must be timezone-aware")
            self._fixed = instant.astimezone(UTC)
