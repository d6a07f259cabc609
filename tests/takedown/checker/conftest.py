"""Real servers on loopback for the checker tests: HTTP, HTTPS, a raw TCP closer and scripted DNS.

The HTTP server records every request it receives (method, path, headers) and how much of each
streamed body it managed to write before the client went away, so tests can assert what reached
the server and that no body was read. The DNS server is built on dnspython: its answers follow a
script per name, which is how DNS rebinding between two checks is staged.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import struct
import subprocess
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset
import pytest
from aiohttp import web

from hostwatch.clock import Clock
from hostwatch.net.dns import DnsClient
from hostwatch.takedown.checker import AddressPolicy, Checker, CheckOptions, Timeouts

HUGE_CHUNK = b"x" * 65536


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    client_port: int = 0
    """The client's source port: one per TCP connection the client opened."""


@dataclass
class ServerLog:
    requests: list[Seen] = field(default_factory=list)
    body_bytes_sent: int = 0
    client_went_away: asyncio.Event = field(default_factory=asyncio.Event)
    in_flight: int = 0
    max_in_flight: int = 0
    started: list[float] = field(default_factory=list)


def _app(log: ServerLog) -> web.Application:
    @web.middleware
    async def record(request: web.Request, handler):  # type: ignore[no-untyped-def]
        peer = request.transport.get_extra_info("peername") if request.transport else None
        log.requests.append(
            Seen(request.method, request.raw_path, dict(request.headers), peer[1] if peer else 0)
        )
        log.started.append(asyncio.get_running_loop().time())
        log.in_flight += 1
        log.max_in_flight = max(log.max_in_flight, log.in_flight)
        try:
            return await handler(request)
        finally:
            log.in_flight -= 1

    async def ok(request: web.Request) -> web.Response:
        return web.Response(
            text="present",
            headers={
                "ETag": '"v1"',
                "Last-Modified": "Fri, 01 Mar 2024 09:00:00 GMT",
                "X-Secret-Token": "not-of-interest",
            },
        )

    async def gone(request: web.Request) -> web.Response:
        return web.Response(status=410)

    async def late_gone(request: web.Request) -> web.Response:
        await asyncio.sleep(0.3)
        return web.Response(status=410)

    async def busy(request: web.Request) -> web.Response:
        return web.Response(status=429)

    async def broken(request: web.Request) -> web.Response:
        return web.Response(status=503)

    async def chain(request: web.Request) -> web.Response:
        left = int(request.match_info["left"])
        raise web.HTTPMovedPermanently("/ok" if left == 0 else f"/chain/{left - 1}")

    async def loop(request: web.Request) -> web.Response:
        raise web.HTTPFound("/loop")

    async def to(request: web.Request) -> web.Response:
        return web.Response(status=302, headers={"Location": request.query["location"]})

    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(10)
        return web.Response(text="late")

    async def nohead(request: web.Request) -> web.Response:
        return web.Response(status=405 if request.method == "HEAD" else 200)

    async def pause(request: web.Request) -> web.Response:
        await asyncio.sleep(0.05)
        return web.Response(text="ok")

    async def huge(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "video/mp4"})
        response.content_length = 2**40
        await response.prepare(request)
        if request.method == "HEAD":
            return response
        try:
            while True:
                await response.write(HUGE_CHUNK)
                log.body_bytes_sent += len(HUGE_CHUNK)
        except (ConnectionError, RuntimeError):
            log.client_went_away.set()
        return response

    app = web.Application(middlewares=[record])
    app.router.add_route("*", "/ok", ok)
    app.router.add_route("*", "/gone", gone)
    app.router.add_route("*", "/busy", busy)
    app.router.add_route("*", "/late-gone", late_gone)
    app.router.add_route("*", "/broken", broken)
    app.router.add_route("*", "/chain/{left}", chain)
    app.router.add_route("*", "/loop", loop)
    app.router.add_route("*", "/to", to)
    app.router.add_route("*", "/slow", slow)
    app.router.add_route("*", "/nohead", nohead)
    app.router.add_route("*", "/pause", pause)
    app.router.add_route("*", "/huge", huge)
    return app


@dataclass
class HttpServer:
    host: str
    port: int
    log: ServerLog
    scheme: str = "http"

    def url(self, path: str, host: str | None = None) -> str:
        host = host or self.host
        host = f"[{host}]" if ":" in host and not host.startswith("[") else host
        return f"{self.scheme}://{host}:{self.port}{path}"


async def _serve(
    host: str, ssl_context: ssl.SSLContext | None = None
) -> tuple[web.AppRunner, HttpServer]:
    log = ServerLog()
    runner = web.AppRunner(_app(log), handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, host, 0, ssl_context=ssl_context)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, HttpServer(host, port, log, "https" if ssl_context else "http")


@pytest.fixture
async def http_server() -> AsyncIterator[HttpServer]:
    runner, server = await _serve("127.0.0.1")
    yield server
    await runner.cleanup()


@pytest.fixture
async def http_server_v6() -> AsyncIterator[HttpServer]:
    runner, server = await _serve("::1")
    yield server
    await runner.cleanup()


@pytest.fixture
async def other_loopback_server() -> AsyncIterator[HttpServer]:
    """A server on 127.0.0.5, for tests whose allowed network is that one address only."""
    runner, server = await _serve("127.0.0.5")
    yield server
    await runner.cleanup()


@dataclass
class Tls:
    cert: Path
    key: Path

    def client_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.cert))


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> Tls:
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=tls.test",
            "-addext",
            "subjectAltName=DNS:tls.test,IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return Tls(cert, key)


@pytest.fixture
async def https_server(tls_files: Tls) -> AsyncIterator[HttpServer]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(tls_files.cert, tls_files.key)
    runner, server = await _serve("127.0.0.1", context)
    yield server
    await runner.cleanup()


@pytest.fixture
async def closing_server() -> AsyncIterator[int]:
    """Reads the request and closes the connection without a byte: a broken web server."""

    async def close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.close()

    server = await asyncio.start_server(close, "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()


@pytest.fixture
def refused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
async def resetting_server() -> AsyncIterator[int]:
    """Reads the request and resets the connection (RST, SO_LINGER 0): a target that kills it."""

    async def reset(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()

    server = await asyncio.start_server(reset, "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()


@pytest.fixture
def silent_resolver() -> Iterator[str]:
    """A resolver address whose socket is bound but never answers: our resolver gone quiet."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"127.0.0.1:{sock.getsockname()[1]}"


@pytest.fixture
def dead_resolver() -> str:
    """A resolver address where nothing listens: the kernel answers port-unreachable."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{sock.getsockname()[1]}"


class ScriptedDns:
    """A UDP DNS server whose A answers follow a script per name: the n-th A query of a name
    gets the n-th answer (the last one repeats). AAAA queries get the IPv6 addresses of the
    name's latest answer. Unknown names get NXDOMAIN; ``rcodes`` names get that error code."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.scripts: dict[str, list[list[str]]] = {}
        self.rcodes: dict[str, dns.rcode.Rcode] = {}
        self.steps: dict[str, int] = {}
        self.queries: list[tuple[str, str]] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def script(self, name: str, *answers: list[str]) -> None:
        self.scripts[name] = list(answers)
        self.steps[name] = 0

    def a_queries(self, name: str) -> int:
        return sum(1 for qname, qtype in self.queries if qname == name and qtype == "A")

    def _serve(self) -> None:
        while True:
            try:
                wire, peer = self.sock.recvfrom(4096)
            except OSError:
                return
            query = dns.message.from_wire(wire)
            self.sock.sendto(self._answer(query).to_wire(), peer)

    def _answer(self, query: dns.message.Message) -> dns.message.Message:
        response = dns.message.make_response(query)
        question = query.question[0]
        name = question.name.to_text(omit_final_dot=True)
        qtype = dns.rdatatype.to_text(question.rdtype)
        self.queries.append((name, qtype))
        if name in self.rcodes:
            response.set_rcode(self.rcodes[name])
            return response
        if name not in self.scripts:
            response.set_rcode(dns.rcode.NXDOMAIN)
            return response
        answers = self.scripts[name]
        if qtype == "A":
            step = min(self.steps[name], len(answers) - 1)
            self.steps[name] += 1
        else:
            step = min(max(self.steps[name] - 1, 0), len(answers) - 1)
        family = ":" if qtype == "AAAA" else "."
        addresses = [a for a in answers[step] if family in a and qtype in ("A", "AAAA")]
        if addresses:
            response.answer.append(
                dns.rrset.from_text_list(question.name, 0, "IN", qtype, addresses)
            )
        return response

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def scripted_dns() -> Iterator[ScriptedDns]:
    server = ScriptedDns()
    yield server
    server.close()


LOOPBACK = ("127.0.0.0/8", "::1/128")
FAST = Timeouts(dns=1.0, connect=1.0, total=2.0)
PINNED = "2024-03-01T10:00:00Z"


@pytest.fixture
def make_checker(scripted_dns: ScriptedDns) -> Callable[..., Checker]:
    """Checkers that resolve through the scripted DNS server and allow loopback by default."""

    def make(
        *, allow: tuple[str, ...] = LOOPBACK, clock: Clock | None = None, **options: Any
    ) -> Checker:
        options.setdefault("timeouts", FAST)
        clock = clock or Clock.at(PINNED)
        return Checker(
            AddressPolicy.allowing(allow),
            DnsClient(scripted_dns.address, timeout=1.0, clock=clock),
            clock,
            CheckOptions(**options),
        )

    return make


@pytest.fixture
async def raw_server() -> AsyncIterator[Callable[[bytes], Awaitable[int]]]:
    """Start TCP servers that answer every request with fixed bytes (broken or hostile HTTP)."""
    servers: list[asyncio.Server] = []

    async def start(reply: bytes) -> int:
        async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                while await reader.readuntil(b"\r\n\r\n"):
                    writer.write(reply)
                    await writer.drain()
            except (asyncio.IncompleteReadError, ConnectionError):
                pass
            finally:
                writer.close()

        server = await asyncio.start_server(answer, "127.0.0.1", 0)
        servers.append(server)
        return server.sockets[0].getsockname()[1]

    yield start
    for server in servers:
        server.close()
        await server.wait_closed()
