"""Answers to repeated reads, kept while the database has not changed.

Hundreds of provider clients poll the same few pages (their case list, their feed). Each answer
is kept per process under everything that decides it: the viewer's role and provider (all the
disclosure policy looks at), the full request URL, and the **data version** it was computed at;
a later request with the same key is answered from memory while the version is unchanged and
its clock has not passed the answer's ``valid_until`` (the feed drops done cases by age). The
token is still checked on every request before the cache is asked.

The data version is cheap and never claims "unchanged" after a commit it cannot see:

- **SQLite**: ``PRAGMA data_version`` on one connection of our own that never writes. It changes
  whenever any other connection, in this process or another, commits; each change starts a new
  generation here.
- **PostgreSQL**: the reader's snapshot (``pg_current_snapshot()``: xmin, xmax and the running
  transactions). Equal snapshots see equal data; any transaction that got an id since (in any
  database of the cluster) gives a new one, so a busy cluster only lowers the hit rate.

The version is read before the answer's own queries, so an answer may be newer than its
version (then the next version misses and recomputes) but never older.
"""

from __future__ import annotations

import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi import Request, Response
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from hostwatch.web.api.common import revalidated
from hostwatch.web.auth import Principal

MAX_ENTRIES = 512
MAX_BODY_BYTES = 1 << 20  # larger answers are not kept


@dataclass(frozen=True)
class Entry:
    version: str
    valid_until: datetime | None
    response: Response


class DataVersion:
    """The database's current data version as a string (see the module's docstring)."""

    def __init__(self, engine: Engine) -> None:
        self._sqlite = engine.dialect.name == "sqlite"
        self._lock = threading.Lock()
        self._probe: sqlite3.Connection | None = None
        self._last: int | None = None
        self._generation = 0
        database = engine.url.database if self._sqlite else None
        # an in-memory database has no other connection to watch: nothing is ever kept
        self._database = database if database and database != ":memory:" else None

    def read(self, session: Session) -> str:
        if not self._sqlite:
            return str(session.scalar(text("SELECT pg_current_snapshot()::text")))
        with self._lock:
            if self._database is None:
                self._generation += 1
                return str(self._generation)
            if self._probe is None:  # never writes, so every commit is another connection's
                self._probe = sqlite3.connect(self._database, check_same_thread=False)
            (value,) = self._probe.execute("PRAGMA data_version").fetchone()
            if value != self._last:
                self._last = value
                self._generation += 1
            return str(self._generation)


class ReadCache:
    """Answers by (viewer, URL), each with the data version it was computed at (LRU)."""

    def __init__(self, engine: Engine, max_entries: int = MAX_ENTRIES) -> None:
        self.version = DataVersion(engine)
        self._entries: OrderedDict[tuple[Any, ...], Entry] = OrderedDict()
        self._lock = threading.Lock()
        self._max = max_entries

    def answer(
        self,
        request: Request,
        viewer: Principal,
        session: Session,
        now: datetime,
        compute: Callable[[], tuple[Response, datetime | None]],
    ) -> Response:
        """The kept answer while still good, else ``compute()`` (the full answer and until when
        the clock alone leaves it unchanged, None: forever), kept; 304 if the client holds it."""
        version = self.version.read(session)  # before compute() reads anything
        key = self.key(request, viewer)
        response = self.get(key, version, now)
        if response is None:
            response, valid_until = compute()
            self.put(key, version, response, valid_until)
        return revalidated(request, response)

    @staticmethod
    def key(request: Request, viewer: Principal) -> tuple[Any, ...]:
        """Everything an answer depends on besides the data: role, provider, the full URL."""
        return (viewer.role, viewer.provider_id, str(request.url))

    def get(self, key: tuple[Any, ...], version: str, now: datetime) -> Response | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if entry.version != version or (
                entry.valid_until is not None and now >= entry.valid_until
            ):
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return entry.response

    def put(
        self,
        key: tuple[Any, ...],
        version: str,
        response: Response,
        valid_until: datetime | None = None,
    ) -> None:
        if response.status_code != 200 or len(response.body) > MAX_BODY_BYTES:
            return
        with self._lock:
            self._entries[key] = Entry(version, valid_until, response)
            self._entries.move_to_end(key)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)
