"""The service's one writer queue: write requests take turns on the event loop, not in threads.

A write request waits for its turn as a coroutine: it holds no worker thread and no database
connection while it waits, so a burst of writes from one token cannot starve reads (``/healthz``,
case lists) of threads or connections, and SQLite never sees two of this process's writers
contend for its write lock (its busy handler polls with sleeps and is not fair: under 50
concurrent writers some waited out the 30 s timeout while others went through).

- SQLite: one write unit of work at a time per process; each is one short ``BEGIN IMMEDIATE``
  transaction (:func:`hostwatch.model.db.write_engine_for`). Across processes (``serve
  --workers N``, ``hostwatch run``) SQLite's own lock serialises them, briefly.
- PostgreSQL: up to ``WRITERS_POSTGRES`` at a time; rows changed by two requests are locked
  (:func:`hostwatch.model.db.lock_row`), so they take turns there.

When more than ``max_waiting`` requests already wait, a new one is refused at once with 429 and
``Retry-After`` rather than queued for longer than a client would wait.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import HTTPException
from sqlalchemy.orm import Session, sessionmaker

WRITERS_POSTGRES = 8
MAX_WAITING = 500
RETRY_AFTER_SECONDS = 1


class WriteQueue:
    """Admits write units of work ``writers`` at a time, first come first served."""

    def __init__(
        self, sessions: sessionmaker[Session], *, writers: int, max_waiting: int = MAX_WAITING
    ) -> None:
        self.sessions = sessions
        self.writers = writers
        self.max_waiting = max_waiting
        self._slots: asyncio.Semaphore | None = None
        self._waiting = 0

    @classmethod
    def for_dialect(cls, sessions: sessionmaker[Session], dialect: str) -> WriteQueue:
        return cls(sessions, writers=1 if dialect == "sqlite" else WRITERS_POSTGRES)

    @asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        """Wait for a turn (429 when the queue is full); hold it until the block ends."""
        if self._slots is None:  # made on first use: it belongs to the server's event loop
            self._slots = asyncio.Semaphore(self.writers)
        if self._waiting >= self.max_waiting:
            raise HTTPException(
                429,
                "too many writes queued; retry shortly",
                headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
            )
        self._waiting += 1
        try:
            await self._slots.acquire()
        finally:
            self._waiting -= 1
        try:
            yield
        finally:
            self._slots.release()
