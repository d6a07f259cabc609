"""The simulated internet on loopback: an authoritative DNS server and the providers' web servers.

Both are real servers (dnspython on UDP, aiohttp on TCP) running in a child process, so the
liveness checker and the attribution resolver talk to them exactly as they would to the internet.
The web servers answer from the hosting state that the replay changes as providers act; they
serve a few bytes of placeholder text, never anything resembling content.

Besides the providers' hosts, the simulated internet has one control host that is always up
(:data:`CONTROL_HOST`, on its own address :data:`CONTROL_IP`): the target of the checker's
control probes, which show that the vantage point works before a failed check may count.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import subprocess
import sys
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

CONTROL_HOST = "control.hostwatch.example"
"""A name the simulated DNS always answers and whose web server always says 200."""
CONTROL_IP = "127.0.0.2"
"""The control host's address: outside every simulated provider's network."""


@dataclass
class HostingState:
    """What is up right now: host -> address, and the set of URLs being served."""

    addresses: dict[str, str] = field(default_factory=dict)
    online: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)
    sink: Callable[..., object] | None = None
    """Where changes are forwarded: the running servers' copy of this state."""

    def serve(self, url: str) -> None:
        with self.lock:
            self.online.add(url)
            if self.sink is not None:
                self.sink("serve", url)

    def remove(self, url: str) -> None:
        with self.lock:
            self.online.discard(url)
            if self.sink is not None:
                self.sink("remove", url)

    def is_online(self, url: str) -> bool:
        with self.lock:
            return url in self.online

    def point(self, host: str, address: str) -> None:
        with self.lock:
            self.addresses[host] = address
            if self.sink is not None:
                self.sink("point", host, address)

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


class _Servers:
    """The servers themselves, in the child process: one event loop, the state's copy there."""

    def __init__(self, state: HostingState, server_ips: list[str], web_port: int) -> None:
        self.state = state
        self.server_ips = server_ips
        self.web_port = web_port
        self.requests = 0

    async def _handle(self, request: web.Request) -> web.Response:
        host = request.host.split(":")[0].lower()
        if host == CONTROL_HOST:
            return web.Response(text="control\n", content_type="text/plain")
        self.requests += 1
        port = request.url.port
        suffix = "" if port in (None, 80) else f":{port}"
        url = f"http://{host}{suffix}{request.path_qs}"
        if self.state.is_online(url):
            return web.Response(text="simulated page\n", content_type="text/plain")
        return web.Response(status=404, text="not found\n")

    async def start(self, dns_port: int) -> web.AppRunner:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        for ip in (*self.server_ips, CONTROL_IP):
            await web.TCPSite(runner, ip, self.web_port).start()
        await asyncio.get_running_loop().create_datagram_endpoint(
            lambda: _DnsProtocol(self._address), local_addr=("127.0.0.1", dns_port)
        )
        return runner

    def _address(self, host: str) -> str | None:
        return CONTROL_IP if host == CONTROL_HOST else self.state.address(host)


def _serve(server_ips: list[str], web_port: int, dns_port: int) -> None:
    """The child process: start the servers, then apply the parent's changes as they come.

    The parent talks JSON lines over stdin/stdout. Each change is acknowledged only once applied,
    so a check the parent makes after a change always sees it.
    """
    servers = _Servers(HostingState(), server_ips, web_port)
    loop = asyncio.new_event_loop()
    try:
        runner = loop.run_until_complete(servers.start(dns_port))
    except OSError as exc:
        print(json.dumps(["failed", f"{type(exc).__name__}: {exc}"]), flush=True)
        return
    threading.Thread(target=loop.run_forever, daemon=True).start()
    print(json.dumps(["ready", None]), flush=True)
    for line in sys.stdin:
        op, *args = json.loads(line)
        if op == "stop":
            break
        if op == "requests":
            print(servers.requests, flush=True)
            continue
        if op not in _CHANGES:
            raise ValueError(f"unknown change {op!r}")
        getattr(servers.state, op)(*args)
        print("ok", flush=True)
    asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(timeout=30)
    loop.call_soon_threadsafe(loop.stop)
    with contextlib.suppress(BrokenPipeError):  # a parent that died is not waiting for it
        print(servers.requests, flush=True)


_CHANGES = frozenset({"serve", "remove", "point"})
"""The only state methods the parent may call in the child."""


class SimulatedInternet:
    """Start/stop the DNS and web servers in a child process; use as a context manager.

    The servers run in a process of their own so that answering the checks and lookups uses the
    second core instead of competing for the interpreter with the workflow that makes them (on
    the demo's year that competition cost more time than the answers). ``state`` stays the
    parent's: every change made to it while the servers run is forwarded and applied there
    before the call returns.
    """

    def __init__(self, state: HostingState, server_ips: list[str], web_port: int) -> None:
        self.state = state
        self.server_ips = server_ips
        self.web_port = web_port
        self.dns_port = free_port(kind=socket.SOCK_DGRAM)
        self._final_requests = 0
        self._child: subprocess.Popen[str] | None = None

    @property
    def resolver(self) -> str:
        return f"127.0.0.1:{self.dns_port}"

    @property
    def control_url(self) -> str:
        """A URL that is always up: for the checker's control probes."""
        return f"http://{CONTROL_HOST}:{self.web_port}/"

    @property
    def requests(self) -> int:
        """HTTP requests for the providers' hosts answered so far (control probes not counted)."""
        if self._child is None:
            return self._final_requests
        return int(self._ask("requests"))

    def _ask(self, op: str, *args: str) -> str:
        child = self._child
        assert child is not None and child.stdin is not None and child.stdout is not None
        child.stdin.write(json.dumps([op, *args]) + "\n")
        child.stdin.flush()
        answer = child.stdout.readline()
        if not answer:
            raise RuntimeError("the simulated internet stopped unexpectedly")
        return answer.strip()

    def __enter__(self) -> SimulatedInternet:
        command = [
            sys.executable,
            "-m",
            __name__,
            str(self.web_port),
            str(self.dns_port),
            *self.server_ips,
        ]
        self._child = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self._child.stdout is not None
        status, detail = json.loads(self._child.stdout.readline() or '["failed", "no answer"]')
        if status != "ready":
            self._child.wait(timeout=10)
            self._child = None
            raise OSError(f"the simulated internet could not start: {detail}")
        with self.state.lock:
            for host, address in self.state.addresses.items():
                self._ask("point", host, address)
            for url in self.state.online:
                self._ask("serve", url)
            self.state.sink = self._ask
        return self

    def __exit__(self, *exc: object) -> None:
        self.state.sink = None
        child, self._child = self._child, None
        if child is None:
            return
        assert child.stdin is not None and child.stdout is not None
        with contextlib.suppress(OSError, ValueError):
            child.stdin.write(json.dumps(["stop"]) + "\n")
            child.stdin.close()
            self._final_requests = int(child.stdout.readline() or 0)
        try:
            child.wait(timeout=30)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


if __name__ == "__main__":
    _serve(sys.argv[3:], int(sys.argv[1]), int(sys.argv[2]))
