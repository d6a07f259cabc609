"""Defences every response and form share: headers, CSRF, rate limits, secret-free logs.

- Security headers and a strict CSP (no inline script, no external origin) on every response.
- CSRF: double-submit. The portal sets a random ``hw_csrf`` cookie (SameSite=Strict) and puts the
  same value into each form; a POST is accepted only when both agree.
- Rate limits: an in-process token bucket per key (client IP for login, token or IP for submit).
  One process, one bucket set: behind several processes the limit multiplies, which is acceptable
  for a brake on guessing and flooding.
- Logs never carry tokens: :class:`RedactingFilter` masks ``Authorization`` values and anything
  shaped like a hostwatch token in every record, whoever logs it.
"""

from __future__ import annotations

import hmac
import logging
import re
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any

from fastapi import HTTPException, Request

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


@dataclass
class _Bucket:
    tokens: float
    stamp: float


class TokenBucket:
    """``rate`` tokens per second up to ``burst`` per key; thread-safe, monotonic time."""

    def __init__(self, rate: float, burst: int, max_keys: int = 100_000) -> None:
        self.rate = rate
        self.burst = burst
        self.max_keys = max_keys
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def take(self, key: str, cost: float = 1.0) -> float:
        """0 when allowed, else the seconds until a retry could succeed."""
        now = time.monotonic()
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                if len(self._buckets) >= self.max_keys:
                    self._buckets.clear()
                bucket = self._buckets[key] = _Bucket(float(self.burst), now)
            bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.stamp) * self.rate)
            bucket.stamp = now
            if bucket.tokens >= cost:
                bucket.tokens -= cost
                return 0.0
            return (cost - bucket.tokens) / self.rate if self.rate > 0 else 3600.0


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def enforce(bucket: TokenBucket, key: str) -> None:
    wait = bucket.take(key)
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
