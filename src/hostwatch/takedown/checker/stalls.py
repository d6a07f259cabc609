"""Noticing that the checker's process did not run: event-loop stalls.

A check's timeouts assume the process runs while it waits. When the event loop does not run
(the machine is overloaded, a callback blocks, the process was paused), a target that answered
in time is read too late, and its check fails with a "timeout" that says nothing about the
target. A watcher task wakes every ``tick`` seconds; a wake-up later than ``threshold`` beyond
its tick is a stall, and a failed check whose lifetime overlaps one was starved
(``checker-starved``, ``fault``). Stalls older than ``keep`` seconds are forgotten, so memory
stays small over a pass of any length.
"""

from __future__ import annotations

import asyncio
from contextlib import suppress
from time import perf_counter

STALL_SECONDS = 1.0
"""A loop that did not run for a whole second starved every check waiting on it: the DNS
client's tries are 1 s long and a connect budget a few seconds."""


class StallWatch:
    """Records when the event loop stalled; use as ``async with`` around a run of checks."""

    def __init__(self, *, threshold: float = STALL_SECONDS, tick: float = 0.1, keep: float = 600.0):
        self.threshold = threshold
        self.tick = tick
        self.keep = keep
        self._stalls: list[tuple[float, float]] = []
        self._last = perf_counter()
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> StallWatch:
        self._last = perf_counter()
        self._task = asyncio.create_task(self._watch())
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(self.tick)
            self._note()

    def _note(self) -> None:
        """Record the gap since the last wake-up if it was a stall (also called on demand, so a
        stall that ends just before a result is judged is seen before the watcher wakes)."""
        now = perf_counter()
        if now - self._last - self.tick >= self.threshold:
            self._stalls.append((self._last + self.tick, now))
        self._last = now
        while self._stalls and self._stalls[0][1] < now - self.keep:
            self._stalls.pop(0)

    def stalled(self, start: float, end: float) -> bool:
        """Whether the loop stalled at some point between ``start`` and ``end`` (perf_counter)."""
        self._note()
        return any(s_start < end and s_end > start for s_start, s_end in self._stalls)
