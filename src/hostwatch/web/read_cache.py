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

The token check is kept the same way (:class:`Principals`): a token revoked or changed is a
commit, so a new version; only its expiry is a matter of the clock. A request answered from
memory therefore costs one version probe and no other database work.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi import Request, Response
from sqlalchemy import Engine

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
        self._engine = engine
        self._sqlite = engine.dialect.name == "sqlite"
        self._lock = threading.Lock()
        self._probe: Any = None
        self._last: int | None = None
        self._generation = 0
        self._probe_started = 0
        self._value = ""
        database = engine.url.database if self._sqlite else None
        # an in-memory database has no other connection to watch: nothing is ever kept
        self._database = database if database and database != ":memory:" else None

    def read(self) -> str:
        arrived = time.monotonic_ns()
        with self._lock:
            if self._sqlite:
                return self._sqlite_version()
            if self._probe_started > arrived:  # a probe begun after we arrived has answered
                return self._value
            self._probe_started = time.monotonic_ns()
            self._value = self._snapshot()
            return self._value

    def _sqlite_version(self) -> str:
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

    def _snapshot(self) -> str:
        """The snapshot on our own autocommit connection, opened again once if it was lost
        (the database restarted); a second failure is the request's error."""
        for attempt in (1, 2):
            try:
                if self._probe is None:
                    pooled = self._engine.raw_connection()
                    pooled.detach()  # ours for good: the pool neither counts nor pings it
                    self._probe = pooled.dbapi_connection
                    self._probe.autocommit = True
                row = self._probe.execute("SELECT pg_current_snapshot()::text").fetchone()
                return str(row[0])
            except Exception:
                broken, self._probe = self._probe, None
                if broken is not None:
                    with contextlib.suppress(Exception):
                        broken.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")


class Principals:
    """Token checks by the token's hash, each with the data version it was made at (LRU)."""

    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self._entries: OrderedDict[str, tuple[str, datetime | None, Principal]] = OrderedDict()
        self._lock = threading.Lock()
        self._max = max_entries

    def get(self, key: str, version: str, now: datetime) -> Principal | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            kept_at, expires_at, principal = entry
            if kept_at != version or (expires_at is not None and expires_at <= now):
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return principal

    def put(self, key: str, version: str, expires_at: datetime | None, who: Principal) -> None:
        with self._lock:
            self._entries[key] = (version, expires_at, who)
            self._entries.move_to_end(key)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)


class ReadCache:
    """Answers by (viewer, URL), each with the data version it was computed at (LRU)."""

    def __init__(self, engine: Engine, max_entries: int = MAX_ENTRIES) -> None:
        self.version = DataVersion(engine)
        self.principals = Principals(max_entries)
        self._entries: OrderedDict[tuple[Any, ...], Entry] = OrderedDict()
        self._flights: dict[tuple[Any, ...], tuple[threading.Lock, int]] = {}
        self._lock = threading.Lock()
        self._max = max_entries

    def answer(
        self,
        request: Request,
        viewer: Principal,
        now: datetime,
        compute: Callable[[], tuple[Response, datetime | None]],
    ) -> Response:
        """The kept answer while still good, else ``compute()`` (the full answer and until when
        the clock alone leaves it unchanged, None: forever), kept; 304 if the client holds it.

        The version is the one read when the request's token was checked, if it was (earlier
        still), else read now: either way before ``compute()`` reads anything."""
        version = getattr(request.state, "data_version", None) or self.version.read()
        key = self.key(request, viewer)
        response = self.get(key, version, now)
        if response is None:
            with self._computing(key, version):  # one computes, the others of its kind wait
                response = self.get(key, version, now)
                if response is None:
                    response, valid_until = compute()
                    self.put(key, version, response, valid_until)
        return revalidated(request, response)

    @contextlib.contextmanager
    def _computing(self, key: tuple[Any, ...], version: str) -> Iterator[None]:
        """Hold the lock for (key, version) while computing it.

        After a commit every client polling a page misses at once; without this each of them
        computed the same answer (200 clients made 200 copies of the same query in the same
        second, and the slowest waited for all of them). Requests for the same answer at the
        same version now wait for the first to finish and take its answer.
        """
        flight = (key, version)
        with self._lock:
            lock, users = self._flights.get(flight, (threading.Lock(), 0))
            self._flights[flight] = (lock, users + 1)
        try:
            with lock:
                yield
        finally:
            with self._lock:
                lock, users = self._flights[flight]
                if users == 1:
                    del self._flights[flight]
                else:
                    self._flights[flight] = (lock, users - 1)

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
