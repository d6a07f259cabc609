"""The HTTP probe: DNS, vetted connect, TLS, then HEAD or a GET closed after the headers.

Why aiohttp: measured on this machine against nginx on loopback with 100 requests in flight,
aiohttp does ~7,900 HEAD/s and httpx ~400/s (issue 4); only aiohttp leaves room for the
5,000 checks/s target once DNS, policy and recording are added (see ``bench/checks.py``).

How no body is ever read: the probe never calls ``read()``, ``text()``, ``json()`` or touches
``response.content``. A HEAD response has no body by definition (aiohttp's parser is told so and
skips it); a GET response is ``close()``-d as soon as its status line and headers are parsed,
which closes the socket instead of draining it. At most the bytes that shared the socket read
carrying the headers (bounded by ``read_bufsize``, 16 KiB here) pass through aiohttp's parser
into a buffer that is dropped unread with the connection. Only the headers named in
``HEADERS_OF_INTEREST`` are copied, truncated, into the result; nothing is logged.

How the connection goes only to a vetted address: hostwatch resolves names itself
(``hostwatch.net.dns``), vets every address with the ``AddressPolicy``, and then asks aiohttp
for ``scheme://<vetted-ip>:port/path`` with the ``Host`` header and the TLS server name set to the
real host. aiohttp therefore never resolves a name (its resolver here refuses to), so there is no
second lookup a rebinding DNS server could answer differently. The connector checks the socket
address against the policy once more right before connecting. Redirects are followed by hand,
each hop parsed, resolved and vetted like the reported URL.
"""

from __future__ import annotations

import asyncio
import contextvars
import errno
import re
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from time import perf_counter
from typing import Any

import aiohappyeyeballs
import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.client_exceptions import cert_errors, ssl_errors
from aiohttp.helpers import ceil_timeout

from hostwatch.clock import Clock
from hostwatch.net.dns import DnsAnswer, DnsClient
from hostwatch.takedown.checker.answers import SharedAnswers
from hostwatch.takedown.checker.fault import dns_failure, http_failure, socket_failure
from hostwatch.takedown.checker.policy import AddressPolicy, BlockedAddress
from hostwatch.takedown.checker.result import (
    HEADERS_OF_INTEREST,
    MAX_HEADER_VALUE,
    CheckResult,
    Hop,
    Outcome,
    Timing,
)
from hostwatch.takedown.checker.target import (
    MAX_URL_LENGTH,
    InvalidTarget,
    RefusedTarget,
    Target,
    parse_target,
)

HEAD = "HEAD"
GET = "GET"
REDIRECTS = frozenset({301, 302, 303, 307, 308})
HEAD_REJECTED = frozenset({405, 501})
MAX_ERROR = 500
USER_AGENT = "hostwatch-liveness/0.1 (notice-and-takedown check; no content is fetched)"


@dataclass(frozen=True)
class Timeouts:
    """Seconds: ``dns`` per lookup, ``connect`` per TCP connect plus TLS handshake, ``total``
    for the whole check including every redirect hop and the wait for response headers (one
    timer per check, not one per read: a separate read timer cost ~10% of throughput)."""

    dns: float = 5.0
    connect: float = 5.0
    total: float = 30.0


@dataclass(frozen=True)
class CheckOptions:
    """How checks are made; ``verify_tls`` may be an SSLContext (tests pass their own CA)."""

    method: str = HEAD
    fallback_to_get: bool = True
    max_redirects: int = 10
    timeouts: Timeouts = field(default_factory=Timeouts)
    verify_tls: bool | ssl.SSLContext = True
    user_agent: str = USER_AGENT
    max_url_length: int = MAX_URL_LENGTH
    connection_limit: int = 100
    one_answer_per_host: bool = False
    """Resolve each host once while the checker is open (``answers``): for a census, whose checks
    all stand for one instant; never for monitoring, where each check must see its own time's
    answer."""


class _Phases:
    __slots__ = ("connect", "tls")

    def __init__(self) -> None:
        self.connect: float | None = None
        self.tls: float | None = None


_phases: contextvars.ContextVar[_Phases | None] = contextvars.ContextVar(
    "hostwatch_check_phases", default=None
)


class _NoNames(AbstractResolver):
    """aiohttp must never resolve a name: every request it gets names a vetted IP literal."""

    async def resolve(self, host: str, port: int = 0, family: int = 0) -> list[ResolveResult]:
        raise OSError(f"hostwatch resolves names itself; refusing to resolve {host[:80]!r}")

    async def close(self) -> None:
        return None


class _GuardedConnector(aiohttp.TCPConnector):
    """A TCPConnector that re-vets the socket address and times TCP connect and TLS apart.

    It replaces aiohttp's private ``_wrap_create_connection`` (aiohttp is pinned in
    pyproject.toml); the body follows aiohttp 3.14's, split in two timed halves.
    """

    def __init__(self, policy: AddressPolicy, **kwargs: Any) -> None:
        super().__init__(resolver=_NoNames(), use_dns_cache=False, **kwargs)
        self._policy = policy

    async def _wrap_create_connection(
        self,
        *args: Any,
        addr_infos: list[Any],
        req: aiohttp.ClientRequest,
        timeout: aiohttp.ClientTimeout,
        client_error: type[Exception] = aiohttp.ClientConnectorError,
        **kwargs: Any,
    ) -> tuple[asyncio.Transport, Any]:
        for info in addr_infos:
            self._policy.check(info[4][0])
        phases = _phases.get()
        try:
            async with ceil_timeout(timeout.sock_connect, ceil_threshold=timeout.ceil_threshold):
                started = perf_counter()
                sock = await aiohappyeyeballs.start_connection(
                    addr_infos=addr_infos, loop=self._loop
                )
                connected = perf_counter()
                result = await self._loop.create_connection(*args, **kwargs, sock=sock)
                if phases is not None:
                    phases.connect = connected - started
                    phases.tls = perf_counter() - connected if kwargs.get("ssl") else None
                return result
        except cert_errors as exc:
            raise aiohttp.ClientConnectorCertificateError(req.connection_key, exc) from exc
        except ssl_errors as exc:
            raise aiohttp.ClientConnectorSSLError(req.connection_key, exc) from exc
        except OSError as exc:
            if exc.errno is None and isinstance(exc, asyncio.TimeoutError):
                raise
            raise client_error(req.connection_key, exc) from exc


class _Stop(Exception):
    """Ends a check early with an outcome (blocked, DNS failure, bad redirect...) and the
    failure's kind (a row of ``fault.FAILURES``)."""

    def __init__(self, outcome: Outcome, error: str, failure: str) -> None:
        super().__init__(error)
        self.outcome = outcome
        self.error = error
        self.failure = failure


@dataclass(slots=True)
class _Trail:
    """What a check has seen so far; turned into a CheckResult however the check ends."""

    url: str
    started: float
    addresses: tuple[str, ...] = ()
    hops: list[Hop] = field(default_factory=list)
    final_url: str | None = None
    status: int | None = None
    method: str | None = None
    ip: str | None = None
    port: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    dns: float | None = None
    connect: float | None = None
    tls: float | None = None
    first_byte: float | None = None

    def next_hop(self) -> None:
        """Record the current response as a redirect and forget its per-hop details."""
        assert self.final_url is not None and self.status is not None
        self.hops.append(Hop(self.final_url, self.status, self.ip))
        self.status = self.method = self.ip = self.port = None
        self.headers = {}
        self.dns = self.connect = self.tls = self.first_byte = None


_PARSER_PHRASE = re.compile(r"[A-Za-z][A-Za-z0-9 ]{0,59}")


def _classify(exc: BaseException) -> tuple[Outcome, str, str]:
    """Map a client exception to an outcome, a short error text and the failure's kind.

    The text never quotes the response: aiohttp's parser errors embed the offending bytes
    (which may be content), so only the parser's leading phrase ("Bad status line") is kept,
    and unknown exceptions are named by type only."""
    if isinstance(exc, BlockedAddress):
        return Outcome.BLOCKED, str(exc), "blocked-by-policy"
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return Outcome.TLS_ERROR, f"certificate: {exc.certificate_error}", "tls"
    if isinstance(exc, aiohttp.ClientSSLError | ssl.SSLError):
        return Outcome.TLS_ERROR, f"TLS: {exc}", "tls"
    if isinstance(exc, TimeoutError | aiohttp.ServerTimeoutError):
        return Outcome.TIMEOUT, "timeout", "timeout"
    if isinstance(exc, aiohttp.ClientConnectorError):
        code = exc.os_error.errno
        if code == errno.ECONNREFUSED:
            return Outcome.REFUSED, "connection refused", "tcp-refused"
        return (
            Outcome.ERROR,
            f"connect: {exc.os_error.strerror or exc.os_error}",
            socket_failure(code),
        )
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return Outcome.ERROR, "server closed the connection without a response", "tcp-reset"
    if isinstance(exc, aiohttp.ClientOSError):
        return Outcome.ERROR, f"connection: {exc.strerror or exc}", socket_failure(exc.errno)
    if isinstance(exc, aiohttp.ClientResponseError):
        kind = _PARSER_PHRASE.match(str(exc.message))
        phrase = kind.group(0) if kind else "unparseable"
        return Outcome.ERROR, f"malformed response: {phrase}", "malformed"
    if isinstance(exc, OSError):
        return Outcome.ERROR, type(exc).__name__, socket_failure(exc.errno)
    return Outcome.ERROR, type(exc).__name__, "unclassified"


class Checker:
    """Makes liveness checks; an async context manager owning one connection pool.

    ``check`` never raises for anything the target does: every failure is an outcome.
    """

    def __init__(
        self,
        policy: AddressPolicy,
        dns: DnsClient,
        clock: Clock,
        options: CheckOptions | None = None,
    ) -> None:
        self.policy = policy
        self.dns = dns
        self.clock = clock
        self.options = options or CheckOptions()
        self._session: aiohttp.ClientSession | None = None
        self._resolve: Callable[[str], Awaitable[DnsAnswer]] = dns.resolve
        timeouts = self.options.timeouts
        self._timeout = aiohttp.ClientTimeout(total=None, sock_connect=timeouts.connect)

    async def __aenter__(self) -> Checker:
        connector = _GuardedConnector(
            self.policy,
            limit=self.options.connection_limit,
            limit_per_host=0,
            ssl=self.options.verify_tls,
            keepalive_timeout=15,
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),
            auto_decompress=False,
            read_bufsize=2**14,
            trust_env=False,
            timeout=self._timeout,
        )
        if self.options.one_answer_per_host:
            self._resolve = SharedAnswers(self.dns).resolve
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
        self._resolve = self.dns.resolve
        await self.dns.aclose()

    async def check(self, url: str, method: str | None = None) -> CheckResult:
        """Check one URL with ``method`` (HEAD or GET-close; default from the options)."""
        trail = _Trail(url=url, started=perf_counter())
        checked_at = self.clock.now()
        error: str | None = None
        try:
            async with asyncio.timeout(self.options.timeouts.total):
                outcome, failure = await self._follow(
                    trail, (method or self.options.method).upper()
                )
        except _Stop as stop:
            outcome, error, failure = stop.outcome, stop.error, stop.failure
        except Exception as exc:
            outcome, error, failure = _classify(exc)
        return CheckResult(
            url=url,
            outcome=outcome,
            checked_at=checked_at,
            final_url=trail.final_url,
            status=trail.status,
            method=trail.method,
            ip=trail.ip,
            port=trail.port,
            addresses=trail.addresses,
            headers=trail.headers,
            redirects=tuple(trail.hops),
            timing=Timing(
                trail.dns,
                trail.connect,
                trail.tls,
                trail.first_byte,
                perf_counter() - trail.started,
            ),
            error=error[:MAX_ERROR] if error else None,
            failure=failure,
        )

    async def _follow(self, trail: _Trail, method: str) -> tuple[Outcome, str | None]:
        """The outcome and, for a failure, its kind."""
        if method not in (HEAD, GET):
            raise _Stop(Outcome.ERROR, f"method {method[:10]!r} is not HEAD or GET", "unclassified")
        target = self._target(trail, trail.url)
        for _ in range(self.options.max_redirects + 1):
            addresses = await self._addresses(trail, target)
            status, location = await self._head_or_get(trail, target, addresses, method)
            if status in REDIRECTS and location is not None:
                trail.next_hop()
                target = self._target(trail, location, base=target)
                continue
            if status >= 400:
                return Outcome.HTTP_ERROR, http_failure(status)
            return Outcome.ONLINE, None
        raise _Stop(
            Outcome.ERROR, f"more than {self.options.max_redirects} redirects", "bad-redirect"
        )

    async def _head_or_get(
        self, trail: _Trail, target: Target, addresses: list[str], method: str
    ) -> tuple[int, str | None]:
        """HEAD, then GET-close if the server rejects HEAD (405/501) or answers it with a body
        that breaks the HTTP framing (a malformed response)."""
        fallback = method == HEAD and self.options.fallback_to_get
        try:
            status, location = await self._request(trail, target, addresses, method)
        except aiohttp.ClientResponseError:
            if not fallback:
                raise
            return await self._request(trail, target, addresses, GET)
        if fallback and status in HEAD_REJECTED:
            return await self._request(trail, target, addresses, GET)
        return status, location

    def _target(self, trail: _Trail, text: str, base: Target | None = None) -> Target:
        try:
            if base is not None:
                target = base.join(text)
            else:
                target = parse_target(text, max_length=self.options.max_url_length)
        except RefusedTarget as exc:
            trail.final_url = text[:MAX_URL_LENGTH] if base is not None else None
            raise _Stop(Outcome.BLOCKED, str(exc), "blocked-by-policy") from None
        except InvalidTarget as exc:
            trail.final_url = text[:MAX_URL_LENGTH] if base is not None else None
            # a reported URL that cannot be requested can never be checked; a redirect to an
            # unusable location is what the target serves now
            kind = "invalid-url" if base is None else "bad-redirect"
            raise _Stop(Outcome.ERROR, str(exc), kind) from None
        trail.final_url = target.url
        return target

    async def _addresses(self, trail: _Trail, target: Target) -> list[str]:
        """The vetted addresses of this hop's host; stops the check if none may be reached."""
        if target.literal is not None:
            found: tuple[str, ...] = (str(target.literal),)
            trail.dns = None
        else:
            answer = await self._resolve(target.host)
            trail.dns = answer.elapsed
            if answer.nxdomain:
                raise _Stop(Outcome.NXDOMAIN, f"{target.host}: no such domain", "nxdomain")
            if not answer.ok:
                raise _Stop(
                    Outcome.DNS_FAIL,
                    f"{target.host}: {answer.error or 'no address'}",
                    dns_failure(answer),
                )
            found = answer.addresses
        if not trail.addresses:
            trail.addresses = found
        vetted = [address for address in found if self.policy.verdict(address) is None]
        if not vetted:
            raise _Stop(Outcome.BLOCKED, str(self.policy.verdict(found[0])), "blocked-by-policy")
        return vetted

    async def _request(
        self, trail: _Trail, target: Target, addresses: list[str], method: str
    ) -> tuple[int, str | None]:
        """One request to the first vetted address that accepts a connection."""
        assert self._session is not None, "use the Checker as an async context manager"
        headers = {"Host": target.host_header, "User-Agent": self.options.user_agent}
        last: Exception | None = None
        for address in addresses:
            phases = _Phases()
            _phases.set(phases)
            sent = perf_counter()
            try:
                response = await self._session.request(
                    method,
                    target.request_url(address),
                    headers=headers,
                    allow_redirects=False,
                    server_hostname=target.server_hostname,
                )
            except aiohttp.ClientConnectorError as exc:
                last = exc
                continue
            try:
                trail.first_byte = perf_counter() - sent
                trail.connect, trail.tls = phases.connect, phases.tls
                trail.method, trail.status, trail.port = method, response.status, target.port
                trail.ip = address
                trail.headers = {
                    name: value[:MAX_HEADER_VALUE]
                    for name in HEADERS_OF_INTEREST
                    if (value := response.headers.get(name)) is not None
                }
                return response.status, response.headers.get("Location")
            finally:
                if method == HEAD:
                    response.release()
                else:
                    response.close()
        assert last is not None
        raise last
