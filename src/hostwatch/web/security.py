"""Defences every response and form share: headers, CSRF, rate limits, secret-free logs.

- Security headers and a strict CSP (no inline script, no external origin) on every response.
- CSRF: double-submit. The portal sets a random ``hw_csrf`` cookie (SameSite=Strict) and puts the
  same value into each form; a POST is accepted only when both agree.
- Rate limits: a token bucket per key (client IP for login, token for submit), kept as a row in
  the database so that every worker of ``serve --workers N`` draws from the same bucket (kept in
  process memory, N workers made N limits).
- Logs never carry tokens: :class:`RedactingFilter` masks ``Authorization`` values and anything
  shaped like a hostwatch token in every record, whoever logs it.
"""

from __future__ import annotations

import hmac
import logging
import re
import secrets
import time
from collections.abc import Callable
from typing import Any

from fastapi import HTTPException, Request
from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, sessionmaker

from hostwatch.model import RateBucket
from hostwatch.model.db import unit_of_work

CSRF_COOKIE = "hw_csrf"
CSRF_FIELD = "csrf"
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
]


class SecurityHeaders:
    """ASGI middleware adding the headers above to every HTTP response."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in SECURITY_HEADERS if k not in present]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def new_csrf_token() -> str:
    return secrets.token_urlsafe(24)


def check_csrf(request: Request, submitted: str | None) -> None:
    cookie = request.cookies.get(CSRF_COOKIE)
    if not cookie or not submitted or not hmac.compare_digest(cookie, submitted):
        raise HTTPException(403, "CSRF check failed: reload the page and submit again")


class SharedRateLimit:
    """``rate`` tokens per second up to ``burst`` per key, the buckets shared by all workers.

    Each take is one short write transaction (on SQLite ``BEGIN IMMEDIATE``, on PostgreSQL a row
    lock on the bucket), so two workers never spend the same token. Time is the wall clock, the
    one clock all processes share; a pinned ``--now`` must not stop buckets from refilling.
    """

    IDLE_SECONDS = 3600.0  # a full bucket untouched this long is deleted: it says nothing

    def __init__(
        self,
        name: str,
        rate: float,
        burst: int,
        writes: sessionmaker[Session],
        *,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.name = name
        self.rate = rate
        self.burst = burst
        self.writes = writes
        self.wall_clock = wall_clock

    def take(self, key: str, session: Session | None = None) -> float:
        """0 when allowed, else the seconds until a retry could succeed.

        In ``session`` when given (the caller's write unit of work), else in one of its own.
        """
        if session is not None:
            return self._take(session, key[:200])
        with unit_of_work(self.writes()) as own:
            return self._take(own, key[:200])

    def _take(self, session: Session, key: str) -> float:
        now = self.wall_clock()
        where = (RateBucket.limit_name == self.name, RateBucket.key == key)
        bucket = session.scalar(select(RateBucket).where(*where).with_for_update())
        if bucket is None:  # two workers may meet here: the insert of one is skipped
            session.execute(
                delete(RateBucket).where(
                    RateBucket.limit_name == self.name,
                    RateBucket.stamp < now - max(self.IDLE_SECONDS, self.burst / self.rate),
                )
            )
            postgres = session.get_bind().dialect.name == "postgresql"
            insert = postgresql_insert if postgres else sqlite_insert
            session.execute(
                insert(RateBucket)
                .values(limit_name=self.name, key=key, tokens=float(self.burst), stamp=now)
                .on_conflict_do_nothing()
            )
            bucket = session.scalar(
                select(RateBucket)
                .where(*where)
                .with_for_update()
                .execution_options(populate_existing=True)
            )
            assert bucket is not None
        bucket.tokens = min(self.burst, bucket.tokens + max(0.0, now - bucket.stamp) * self.rate)
        bucket.stamp = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / self.rate if self.rate > 0 else 3600.0


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def enforce(bucket: SharedRateLimit, key: str, session: Session | None = None) -> None:
    """429 with ``Retry-After`` when ``key`` has spent its bucket (see :class:`SharedRateLimit`)."""
    wait = bucket.take(key, session)
    if wait:
        raise HTTPException(
            429, "too many requests; slow down", headers={"Retry-After": str(int(wait) + 1)}
        )


_SECRET_PATTERNS = [
    re.compile(r"(?i)(authorization[\"']?\s*[:=]\s*[\"']?)(bearer\s+)?[^\s\"',}]+"),
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+"),
    re.compile(r"()hw_[A-Za-z0-9_-]{20,}"),
    re.compile(r"(?i)((?:token|hw_session)=)[^\s&;\"']+"),
]


def redact(text: str) -> str:
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(lambda m: m.group(1) + "[REDACTED]", text)
    return text


class RedactingFilter(logging.Filter):
    """Masks credentials in any log record before a handler formats it."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact(message)
        if clean != message or record.args:
            record.msg, record.args = clean, None
        return True
