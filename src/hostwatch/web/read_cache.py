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
- **PostgreSQL**: the snapshot (``pg_current_snapshot()``: xmin, xmax and the running
  transactions) on one autocommit connection of our own. Equal snapshots see equal data; any
  transaction that got an id since (in any database of the cluster) gives a new one, so a busy
  cluster only lowers the hit rate. Requests that arrive while a probe is under way wait for the
  next one, which started after they arrived, and share it: at most one probe is in flight per
  process, and none answers for a request that arrived after it began.

The version is read before the answer's own queries, so an answer may be newer than its
version (then the next version misses and recomputes) but never older.

The token check is kept the same way (``ReadCache.principals``): a token revoked or changed is a
commit, so a new version; only its expiry is a matter of the clock. A request answered from
memory therefore costs one version probe and no other database work.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

import psycopg
from fastapi import Request, Response
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from hostwatch.web.api.common import revalidated
from hostwatch.web.auth import Principal

MAX_ENTRIES = 512
MAX_BODY_BYTES = 1 << 20  # larger answers are not kept
K = TypeVar("K")
V = TypeVar("V")


@dataclass(frozen=True)
class Entry(Generic[V]):
    version: str
    valid_until: datetime | None
    value: V


class Kept(Generic[K, V]):
    """Values by key, each good while the data version is the one it was made at and the clock
    has not passed its ``valid_until`` (None: no end); the least recently used go first."""

    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self._entries: OrderedDict[K, Entry[V]] = OrderedDict()
        self._lock = threading.Lock()
        self._max = max_entries

    def get(self, key: K, version: str, now: datetime) -> V | None:
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
            return entry.value

    def put(self, key: K, version: str, value: V, valid_until: datetime | None) -> None:
        with self._lock:
            self._entries[key] = Entry(version, valid_until, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)


class DataVersion:
    """The database's current data version as a string (see the module's docstring).

    Read on the event loop: a request answered from memory makes no trip to a thread (the
    hand-over to the thread pool cost more than the rest of such a request). On SQLite that is
    one ``PRAGMA`` on a local file; on PostgreSQL one query on an asynchronous connection of the
    loop's own.
    """

    def __init__(self, engine: Engine) -> None:
        self._sqlite = engine.dialect.name == "sqlite"
        self._lock = threading.Lock()
        self._probe: sqlite3.Connection | None = None
        self._last: int | None = None
        self._generation = 0
        database = engine.url.database if self._sqlite else None
        # an in-memory database has no other connection to watch: nothing is ever kept
        self._database = database if database and database != ":memory:" else None
        self._conninfo = (
            ""
            if self._sqlite
            else engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        )
        self._loop: asyncio.AbstractEventLoop | None = None
        self._turn: asyncio.Lock | None = None
        self._remote: psycopg.AsyncConnection[Any] | None = None
        self._probe_started = 0
        self._value = ""

    async def read(self) -> str:
        if self._sqlite:
            return self._sqlite_version()
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # a new loop (a test client): its own lock and connection
            self._loop, self._turn, self._remote = loop, asyncio.Lock(), None
        assert self._turn is not None
        arrived = time.monotonic_ns()
        async with self._turn:
            if self._probe_started > arrived:  # a probe begun after we arrived has answered
                return self._value
            self._probe_started = time.monotonic_ns()
            self._value = await self._snapshot()
            return self._value

    def _sqlite_version(self) -> str:
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

    async def _snapshot(self) -> str:
        """The snapshot on our own autocommit connection, opened again once if it was lost
        (the database restarted); a second failure is the request's error."""
        for attempt in (1, 2):
            try:
                if self._remote is None or self._remote.closed:
                    self._remote = await psycopg.AsyncConnection.connect(
                        self._conninfo, autocommit=True
                    )
                cursor = await self._remote.execute("SELECT pg_current_snapshot()::text")
                row = await cursor.fetchone()
                assert row is not None
                return str(row[0])
            except psycopg.Error:
                broken, self._remote = self._remote, None
                if broken is not None:
                    with contextlib.suppress(Exception):
                        await broken.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")


class ReadCache:
    """Answers by (viewer, URL), each with the data version it was computed at (LRU)."""

    def __init__(
        self, engine: Engine, sessions: sessionmaker[Session], max_entries: int = MAX_ENTRIES
    ) -> None:
        self.version = DataVersion(engine)
        self._sessions = sessions
        self.principals: Kept[str, Principal] = Kept(max_entries)
        """Token checks by the token's hash, made at a data version, good until the expiry."""
        self._answers: Kept[tuple[Any, ...], Response] = Kept(max_entries)
        self._flights: dict[tuple[Any, ...], asyncio.Future[tuple[Response, datetime | None]]] = {}

    async def answer(
        self,
        request: Request,
        viewer: Principal,
        now: datetime,
        compute: Callable[[Session], tuple[Response, datetime | None]],
    ) -> Response:
        """The kept answer while still good, else ``compute(session)`` (the full answer and until
        when the clock alone leaves it unchanged, None: forever), kept; 304 if the client holds
        it. ``compute`` runs in a thread, in a read session of its own that ends with it: it
        serves every request waiting for the same answer, and must outlive the one that began
        it (a client that hangs up closes its request's session).

        The version is the one read when the request's token was checked, if it was (earlier
        still), else read now: either way before ``compute()`` reads anything.

        After a commit every client polling a page misses at once; requests for the same answer
        at the same version wait for the first one's computation and share it (200 clients made
        200 copies of the same query in the same second, and the slowest waited for them all).
        """
        version = getattr(request.state, "data_version", None) or await self.version.read()
        key = self.key(request, viewer)
        response = self.get(key, version, now)
        if response is None:
            flight = (key, version)
            task = self._flights.get(flight)
            if task is None:  # the computation belongs to no request: one leaving ends nothing
                task = asyncio.ensure_future(run_in_threadpool(self._in_session, compute))
                self._flights[flight] = task
                task.add_done_callback(lambda done: self._landed(flight, done))
            response, _ = await asyncio.shield(task)
        return revalidated(request, response)

    def _in_session(
        self, compute: Callable[[Session], tuple[Response, datetime | None]]
    ) -> tuple[Response, datetime | None]:
        with self._sessions() as session:
            return compute(session)

    def _landed(
        self, flight: tuple[Any, ...], done: asyncio.Future[tuple[Response, datetime | None]]
    ) -> None:
        del self._flights[flight]
        if done.cancelled() or done.exception() is not None:  # retrieved: never "unhandled"
            return
        response, valid_until = done.result()
        self.put(*flight, response, valid_until)

    @staticmethod
    def key(request: Request, viewer: Principal) -> tuple[Any, ...]:
        """Everything an answer depends on besides the data: role, provider, the full URL."""
        return (viewer.role, viewer.provider_id, str(request.url))

    def get(self, key: tuple[Any, ...], version: str, now: datetime) -> Response | None:
        return self._answers.get(key, version, now)

    def put(
        self,
        key: tuple[Any, ...],
        version: str,
        response: Response,
        valid_until: datetime | None = None,
    ) -> None:
        """Keep a full answer (200, not larger than ``MAX_BODY_BYTES``)."""
        if response.status_code == 200 and len(response.body) <= MAX_BODY_BYTES:
            self._answers.put(key, version, response, valid_until)
