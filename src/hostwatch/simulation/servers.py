"""The simulated internet on loopback: an authoritative DNS server and the providers' web servers.

Both are real servers (dnspython on UDP, aiohttp on TCP) running in one background thread, so the
liveness checker and the attribution resolver talk to them exactly as they would to the internet.
The web servers answer from the hosting state that the replay changes as providers act; they
serve a few bytes of placeholder text, never anything resembling content.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import dns.flags
import dns.message
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset
from aiohttp import web


@dataclass
class HostingState:
    """What is up right now: host -> address, and the set of URLs being served."""

    addresses: dict[str, str] = field(default_factory=dict)
    online: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def serve(self, url: str) -> None:
        with self.lock:
            self.online.add(url)

    def remove(self, url: str) -> None:
        with self.lock:
            self.online.discard(url)

    def is_online(self, url: str) -> bool:
        with self.lock:
            return url in self.online

    def point(self, host: str, address: str) -> None:
        with self.lock:
            self.addresses[host] = address

    def address(self, host: str) -> str | None:
        with self.lock:
            return self.addresses.get(host)


class _DnsProtocol(asyncio.DatagramProtocol):
    def __init__(self, answer: Callable[[str], str | None]) -> None:
        self.answer = answer
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        try:
            query = dns.message.from_wire(data)
        except Exception:
            return  # a malformed packet gets no answer, as from a real server
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        question = query.question[0] if query.question else None
        if question is not None:
            host = question.name.to_text(omit_final_dot=True).lower()
            address = self.answer(host)
            if address is None:
                response.set_rcode(dns.rcode.NXDOMAIN)
            elif question.rdtype == dns.rdatatype.A:
                response.answer.append(
                    dns.rrset.from_text(question.name, 300, dns.rdataclass.IN, "A", address)
                )
        assert self.transport is not None
        self.transport.sendto(response.to_wire(), addr)


def free_port(host: str = "127.0.0.1", kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


class SimulatedInternet:
    """Start/stop the DNS and web servers; use as a context manager."""

    def __init__(self, state: HostingState, server_ips: list[str], web_port: int) -> None:
        self.state = state
        self.server_ips = server_ips
        self.web_port = web_port
        self.dns_port = free_port(kind=socket.SOCK_DGRAM)
        self.requests = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runner: web.AppRunner | None = None
        self._dns_transport: asyncio.BaseTransport | None = None

    @property
    def resolver(self) -> str:
        return f"127.0.0.1:{self.dns_port}"

    async def _handle(self, request: web.Request) -> web.Response:
        self.requests += 1
        port = request.url.port
        suffix = "" if port in (None, 80) else f":{port}"
        url = f"http://{request.host.split(':')[0]}{suffix}{request.path_qs}"
        if self.state.is_online(url):
            return web.Response(text="simulated page\n", content_type="text/plain")
        return web.Response(status=404, text="not found\n")

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        for ip in self.server_ips:
            await web.TCPSite(self._runner, ip, self.web_port).start()
        self._dns_transport, _ = await self._loop.create_datagram_endpoint(
            lambda: _DnsProtocol(self.state.address), local_addr=("127.0.0.1", self.dns_port)
        )

    async def _stop(self) -> None:
        if self._dns_transport is not None:
            self._dns_transport.close()
        if self._runner is not None:
            await self._runner.cleanup()

    def __enter__(self) -> SimulatedInternet:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=30)
        return self

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(timeout=30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
