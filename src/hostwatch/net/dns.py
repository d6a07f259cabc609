"""DNS resolution as an observation: what a named resolver said about a host at a time.

Attribution and the liveness checker both need "which addresses did this host have, and via
which CNAMEs", recorded with the resolver and the instant, because an attribution must be
redoable for the time of the notice and a check must connect to exactly the addresses it vetted.
dnspython builds and parses the messages, sent to one configured server (``host[:port]``,
settings field ``resolver``) or the system's ``resolv.conf`` servers; it never calls
``getaddrinfo``, so ``/etc/hosts`` and legacy numeric forms
(``2130706433``) cannot slip an address past the checker.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import secrets
import socket
from collections.abc import Iterable
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime
from time import monotonic, perf_counter
from typing import Any

import dns.asyncquery
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.resolver

from hostwatch.clock import Clock
from hostwatch.settings import Settings

SYSTEM = "system"
LITERAL = "literal"
_TRY_TIMEOUT = 1.0
RECEIVE_BUFFER = 2**22
"""Bytes of replies the shared socket may hold unread (the kernel caps it at ``rmem_max``). With
the default (~208 KiB, about 150 small replies on loopback) the replies to a census's first
burst of lookups overflowed it while the event loop was busy (the kernel's UDP RcvbufErrors rose
by 1,400 in a census of 20,000 URLs in ``bench/census.py``, each a try lost); with 4 MiB, none."""


@dataclass(frozen=True, slots=True)
class DnsAnswer:
    """A and AAAA for one host as one resolver answered them.

    ``rcode`` is the DNS response code (``NOERROR``, ``NXDOMAIN``, ``SERVFAIL``...) or None when
    no response arrived (timeout) or no query was needed (an IP literal). ``error`` is set only
    when no address came back and something went wrong; an empty NOERROR answer has no error.
    """

    host: str
    addresses: tuple[str, ...]
    cname_chain: tuple[str, ...]
    ttl: int | None
    rcode: str | None
    error: str | None
    resolver: str
    at: datetime
    elapsed: float

    @property
    def ok(self) -> bool:
        return bool(self.addresses)

    @property
    def nxdomain(self) -> bool:
        return self.rcode == "NXDOMAIN"


def parse_resolver(text: str) -> tuple[str, int]:
    """Read ``host[:port]`` (``[v6]:port`` for IPv6); the host must be an IP address."""
    text = text.strip()
    port = 53
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        if rest:
            if not rest.startswith(":"):
                raise ValueError(f"resolver {text!r}: expected [address]:port")
            port = int(rest[1:])
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
        port = int(port_text)
    else:
        host = text
    ipaddress.ip_address(host)
    if not 0 < port < 65536:
        raise ValueError(f"resolver {text!r}: port out of range")
    return host, port


def _literal(host: str) -> str | None:
    try:
        return str(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        return None


class _Channel:
    """One UDP socket carrying many queries at once; replies are matched by ID and server.

    dnspython's stub resolver opens a fresh datagram endpoint and wraps every receive in a task
    for each query, which cost ~0.5 ms of CPU per A+AAAA pair here and capped checks with host
    names at a few hundred per second. dnspython still builds and parses every message; only
    the socket is shared. Reply IDs are random per query and the question is compared
    after parsing, so a stray or spoofed datagram cannot answer a query it does not match.

    Every reply waiting in the socket is read as soon as it is readable. asyncio's datagram
    transport reads one datagram per event-loop iteration; with a census's checks keeping the
    loop busy, replies queued behind hundreds of others were read after their try's 1 s had run
    out (measured in ``bench/census.py``: 1,100 of 11,000 replies late, 70 hosts failing all five
    tries: "resolver-timeout" for a resolver that had answered each query at once).
    """

    def __init__(self, family: int, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.sock = socket.socket(family, socket.SOCK_DGRAM)
        self.sock.setblocking(False)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
        self.pending: dict[int, tuple[asyncio.Future[bytes], tuple[str, int]]] = {}
        loop.add_reader(self.sock.fileno(), self._read)

    @property
    def open(self) -> bool:
        return self.sock.fileno() != -1

    def close(self) -> None:
        if self.open:
            self.loop.remove_reader(self.sock.fileno())
            self.sock.close()
        self._fail(ConnectionError("DNS socket closed"))

    def _read(self) -> None:
        while True:
            try:
                data, addr = self.sock.recvfrom(65535)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:  # an ICMP error the kernel queued on the socket
                self._fail(exc)
                return
            self._received(data, addr)

    def _received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        if len(data) < 12:
            return
        entry = self.pending.get(int.from_bytes(data[:2], "big"))
        if entry is None:
            return
        future, server = entry
        if (ipaddress.ip_address(addr[0]), addr[1]) != (ipaddress.ip_address(server[0]), server[1]):
            return
        if not future.done():
            future.set_result(data)

    def _fail(self, exc: Exception) -> None:
        for future, _ in self.pending.values():
            if not future.done():
                future.set_exception(exc)

    async def exchange(self, wire: bytes, server: tuple[str, int], timeout: float) -> bytes:
        """Send one query (its ID is replaced by a fresh random one) and wait for the reply.

        A send the kernel refuses (no route, EACCES) raises here, for this query alone; a full
        send buffer is a datagram lost, and the try times out and is repeated like one."""
        while (query_id := secrets.randbelow(65536)) in self.pending:
            continue
        future: asyncio.Future[bytes] = self.loop.create_future()
        self.pending[query_id] = (future, server)
        try:
            with suppress(BlockingIOError):
                self.sock.sendto(query_id.to_bytes(2, "big") + wire[2:], server)
            async with asyncio.timeout(timeout):
                return await future
        finally:
            del self.pending[query_id]


@functools.lru_cache(maxsize=4096)
def _query_wire(name: dns.name.Name, rdtype: dns.rdatatype.RdataType) -> bytes:
    return dns.message.make_query(name, rdtype).to_wire()


class DnsClient:
    """Asynchronous A+AAAA resolution against one configured resolver, with a lifetime per host.

    One instance is meant to be shared by all checks of a run (``await client.aclose()`` at the
    end releases its sockets); it holds no per-host cache, so every call asks the server again
    (a check must see the answer of its own time, which is what exposes a DNS-rebinding host).
    Queries go straight to the server with recursion desired over one shared UDP socket per
    address family; a try waits at most 1 s before the query is sent again (to the next server
    when the system lists several) until ``timeout`` runs out; truncated answers are retried
    over TCP.
    """

    def __init__(
        self,
        resolver: str | None = None,
        *,
        timeout: float = 5.0,
        clock: Clock,
    ) -> None:
        self.timeout = timeout
        self.clock = clock
        if resolver:
            address, port = parse_resolver(resolver)
            self._servers = [(address, port)]
            self.name = f"[{address}]:{port}" if ":" in address else f"{address}:{port}"
        else:
            system = dns.resolver.Resolver()
            self._servers = [(str(server), system.port) for server in system.nameservers]
            self.name = SYSTEM
        self._channels: dict[int, _Channel] = {}

    @classmethod
    def from_settings(cls, settings: Settings, clock: Clock | None = None) -> DnsClient:
        return cls(settings.resolver, clock=clock or settings.clock())

    async def aclose(self) -> None:
        """Close the sockets; the client stays usable and opens new ones when needed."""
        for channel in self._channels.values():
            channel.close()
        self._channels = {}

    def _channel(self, family: int) -> _Channel:
        """The open socket for ``family`` on the running loop (a new loop gets new sockets)."""
        loop = asyncio.get_running_loop()
        channel = self._channels.get(family)
        if channel is not None and channel.open and channel.loop is loop:
            return channel
        if channel is not None:
            channel.close()
        channel = self._channels[family] = _Channel(family, loop)
        return channel

    async def resolve(self, host: str) -> DnsAnswer:
        """Resolve one host; never raises for DNS failures, they are part of the answer."""
        started = perf_counter()
        at = self.clock.now()
        literal = _literal(host)
        if literal is not None:
            return DnsAnswer(host, (literal,), (), None, None, None, LITERAL, at, 0.0)
        try:
            name = dns.name.from_text(host)
        except (dns.exception.DNSException, UnicodeError, ValueError) as exc:
            return DnsAnswer(
                host,
                (),
                (),
                None,
                None,
                f"invalid name: {exc}",
                self.name,
                at,
                perf_counter() - started,
            )
        results = await asyncio.gather(
            self._query(name, dns.rdatatype.A),
            self._query(name, dns.rdatatype.AAAA),
        )
        addresses: list[str] = []
        cnames: list[str] = []
        ttls: list[int] = []
        rcodes: list[str | None] = []
        errors: list[str] = []
        for rcode, response, error in results:
            rcodes.append(rcode)
            if error is not None:
                errors.append(error)
            if response is None:
                continue
            try:
                chain = response.resolve_chaining()
            except dns.exception.DNSException as exc:
                errors.append(f"unusable answer: {exc}")
                continue
            for rrset in chain.cnames:
                target = rrset[0].target.to_text(omit_final_dot=True)
                if target not in cnames:
                    cnames.append(target)
            if chain.answer is not None:
                addresses.extend(rdata.address for rdata in chain.answer)
                ttls.append(chain.minimum_ttl)
        rcode = next((code for code in rcodes if code == "NXDOMAIN"), None) or next(
            (code for code in rcodes if code is not None), None
        )
        error = None if addresses or not errors else "; ".join(dict.fromkeys(errors))
        return DnsAnswer(
            host,
            tuple(addresses),
            tuple(cnames),
            min(ttls) if ttls else None,
            rcode,
            error,
            self.name,
            at,
            perf_counter() - started,
        )

    async def _query(
        self, name: dns.name.Name, rdtype: dns.rdatatype.RdataType
    ) -> tuple[str | None, dns.message.Message | None, str | None]:
        """(rcode, response when usable, error) for one question."""
        deadline = monotonic() + self.timeout
        error = f"timeout after {self.timeout:g}s"
        attempt = 0
        unreachable: set[tuple[str, int]] = set()
        while (remaining := deadline - monotonic()) > 0:
            server = self._servers[attempt % len(self._servers)]
            attempt += 1
            wait = min(remaining, _TRY_TIMEOUT)
            try:
                response = await self._ask(name, rdtype, *server, wait)
            except (TimeoutError, dns.exception.Timeout):
                continue
            except OSError as exc:
                # The kernel refused to send (no route, EACCES, EMFILE): the error came back
                # before any wait, so retrying at once would spin the event loop until the
                # deadline and starve every other check. Once every server has refused, the
                # answer is known: our resolver cannot be reached.
                error = f"{type(exc).__name__}: {exc}"
                unreachable.add(server)
                if len(unreachable) == len(set(self._servers)):
                    break
                await asyncio.sleep(0)
                continue
            except dns.exception.DNSException as exc:
                error = f"{type(exc).__name__}: {exc}"
                continue
            rcode = dns.rcode.to_text(response.rcode())
            if rcode == "NXDOMAIN":
                return rcode, None, "no such domain"
            if rcode != "NOERROR":
                return rcode, None, f"server answered {rcode}"
            return rcode, response, None
        return None, None, error

    async def _ask(
        self,
        name: dns.name.Name,
        rdtype: dns.rdatatype.RdataType,
        address: str,
        port: int,
        timeout: float,
    ) -> dns.message.Message:
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        channel = self._channel(family)
        wire = await channel.exchange(_query_wire(name, rdtype), (address, port), timeout)
        response = dns.message.from_wire(wire)
        question = response.question[0] if len(response.question) == 1 else None
        if question is None or question.name != name or question.rdtype != rdtype:
            raise dns.exception.FormError("reply does not answer the question asked")
        if response.flags & dns.flags.TC:
            query = dns.message.make_query(name, rdtype)
            response = await dns.asyncquery.tcp(query, address, timeout=timeout, port=port)
        return response

    async def resolve_all(
        self, hosts: Iterable[str], *, concurrency: int = 64
    ) -> dict[str, DnsAnswer]:
        """Resolve many hosts with at most ``concurrency`` lookups in flight."""
        unique = list(dict.fromkeys(hosts))
        gate = asyncio.Semaphore(concurrency)

        async def one(host: str) -> DnsAnswer:
            async with gate:
                return await self.resolve(host)

        answers = await asyncio.gather(*(one(host) for host in unique))
        return dict(zip(unique, answers, strict=True))


def resolve_many(
    hosts: Iterable[str],
    resolver: str | None = None,
    *,
    timeout: float = 5.0,
    concurrency: int = 64,
    clock: Clock,
) -> dict[str, DnsAnswer]:
    """Blocking batch resolution for callers outside an event loop (attribution, the CLI)."""
    client = DnsClient(resolver, timeout=timeout, clock=clock)

    async def run() -> dict[str, DnsAnswer]:
        try:
            return await client.resolve_all(hosts, concurrency=concurrency)
        finally:
            await client.aclose()

    return asyncio.run(run())
