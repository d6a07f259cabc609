"""DNS resolution against a real dnsmasq on loopback: A, AAAA, CNAME chains, NXDOMAIN, changes."""

from __future__ import annotations

import asyncio
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import dns.message
import dns.rrset
import pytest

from hostwatch.clock import Clock
from hostwatch.net.dns import DnsClient, parse_resolver, resolve_many
from ports import free_dns_port

SYSTEM = Clock.system()  # these tests ask a real server on loopback: real time

DNSMASQ = shutil.which("dnsmasq") or "/usr/sbin/dnsmasq"


class Dnsmasq:
    """dnsmasq serving the ``.test`` zone from a hosts file that a test may rewrite."""

    def __init__(self, folder: Path) -> None:
        self.hosts = folder / "hosts"
        self.port = free_dns_port()
        self.process: subprocess.Popen[bytes] | None = None

    def write(self, lines: list[str]) -> None:
        self.hosts.write_text("\n".join(lines) + "\n")

    def start(self, extra: list[str]) -> None:
        self.process = subprocess.Popen(
            [
                DNSMASQ,
                "--keep-in-foreground",
                "--conf-file=/dev/null",
                "--no-resolv",
                "--no-hosts",
                "--user=root",
                "--pid-file=",
                "--bind-interfaces",
                "--listen-address=127.0.0.1",
                f"--port={self.port}",
                f"--addn-hosts={self.hosts}",
                "--local=/test/",
                "--local-ttl=30",
                *extra,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            answers = resolve_many(
                ["ready.test"], f"127.0.0.1:{self.port}", timeout=0.5, clock=SYSTEM
            )
            if answers["ready.test"].ok:
                return
            assert self.process.poll() is None, self.process.stderr.read().decode()
        raise RuntimeError("dnsmasq did not answer")

    def reload(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGHUP)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"


@pytest.fixture
def dnsmasq(tmp_path: Path) -> Iterator[Dnsmasq]:
    server = Dnsmasq(tmp_path)
    server.write(
        [
            "127.0.0.1 ready.test",
            "192.0.2.10 www.example.test",
            "2001:db8::10 www.example.test",
            "198.51.100.7 target.test",
            "2001:db8::1 v6only.test",
        ]
    )
    server.start(["--cname=alias.test,middle.test", "--cname=middle.test,target.test"])
    yield server
    server.stop()


async def test_a_and_aaaa_are_both_returned(dnsmasq: Dnsmasq) -> None:
    clock = Clock.at("2024-03-01T10:00:00Z")
    answer = await DnsClient(dnsmasq.address, clock=clock).resolve("www.example.test")
    assert set(answer.addresses) == {"192.0.2.10", "2001:db8::10"}
    assert answer.rcode == "NOERROR"
    assert answer.error is None
    assert answer.ttl == 30
    assert answer.resolver == dnsmasq.address
    assert answer.at == datetime(2024, 3, 1, 10, tzinfo=UTC)


async def test_cname_chain_is_followed_and_recorded(dnsmasq: Dnsmasq) -> None:
    answer = await DnsClient(dnsmasq.address, clock=SYSTEM).resolve("alias.test")
    assert answer.addresses == ("198.51.100.7",)
    assert answer.cname_chain == ("middle.test", "target.test")


async def test_nxdomain_is_an_answer_not_an_exception(dnsmasq: Dnsmasq) -> None:
    answer = await DnsClient(dnsmasq.address, clock=SYSTEM).resolve("missing.test")
    assert answer.nxdomain
    assert not answer.ok
    assert answer.error == "no such domain"


async def test_ipv6_only_host(dnsmasq: Dnsmasq) -> None:
    answer = await DnsClient(dnsmasq.address, clock=SYSTEM).resolve("v6only.test")
    assert answer.addresses == ("2001:db8::1",)


async def test_ip_literal_needs_no_query(dnsmasq: Dnsmasq) -> None:
    answer = await DnsClient(dnsmasq.address, clock=SYSTEM).resolve("[2001:db8::5]")
    assert answer.addresses == ("2001:db8::5",)
    assert answer.resolver == "literal"


async def test_legacy_numeric_host_is_a_name_not_an_address(dnsmasq: Dnsmasq) -> None:
    answer = await DnsClient(dnsmasq.address, clock=SYSTEM).resolve("2130706433")
    assert "127.0.0.1" not in answer.addresses


async def test_silent_server_gives_a_timeout_answer() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))
        port = silent.getsockname()[1]
        answer = await DnsClient(f"127.0.0.1:{port}", timeout=0.5, clock=SYSTEM).resolve(
            "www.example.test"
        )
    assert not answer.ok
    assert answer.rcode is None
    assert "timeout" in (answer.error or "")


async def test_an_unreachable_resolver_fails_at_once_without_starving_the_loop() -> None:
    # The kernel refuses to send to the broadcast address before any packet leaves, as it
    # refuses when the route to the resolver is gone. The lookup must say so at once: retrying
    # a send that fails without waiting would spin the event loop until the deadline, and the
    # checks sharing it would time out on our account.
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.01)

    running = asyncio.create_task(ticker())
    await asyncio.sleep(0)
    client = DnsClient("255.255.255.255:53", timeout=3.0, clock=SYSTEM)
    started = time.monotonic()
    try:
        answer = await client.resolve("www.example.test")
    finally:
        running.cancel()
        await client.aclose()
    elapsed = time.monotonic() - started
    assert not answer.ok and answer.rcode is None
    assert "timeout" not in (answer.error or ""), answer.error
    assert "Error" in (answer.error or ""), answer.error
    assert elapsed < 1.0, elapsed
    assert ticks >= 1


def test_answers_change_when_the_zone_changes(dnsmasq: Dnsmasq) -> None:
    before = resolve_many(["www.example.test"], dnsmasq.address, clock=SYSTEM)["www.example.test"]
    dnsmasq.write(["127.0.0.1 ready.test", "203.0.113.9 www.example.test"])
    dnsmasq.reload()
    deadline = time.monotonic() + 10
    after = before
    while after.addresses == before.addresses and time.monotonic() < deadline:
        time.sleep(0.05)
        after = resolve_many(["www.example.test"], dnsmasq.address, clock=SYSTEM)[
            "www.example.test"
        ]
    assert after.addresses == ("203.0.113.9",)


def test_resolve_many_returns_one_answer_per_distinct_host(dnsmasq: Dnsmasq) -> None:
    hosts = ["www.example.test", "alias.test", "missing.test", "www.example.test"]
    answers = resolve_many(hosts, dnsmasq.address, concurrency=2, clock=SYSTEM)
    assert list(answers) == ["www.example.test", "alias.test", "missing.test"]
    assert answers["missing.test"].nxdomain


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("127.0.0.1", ("127.0.0.1", 53)),
        ("127.0.0.1:5353", ("127.0.0.1", 5353)),
        ("[::1]:5300", ("::1", 5300)),
        ("::1", ("::1", 53)),
    ],
)
def test_parse_resolver(text: str, expected: tuple[str, int]) -> None:
    assert parse_resolver(text) == expected


@pytest.mark.parametrize("text", ["dns.example:53", "127.0.0.1:99999", "[::1]x"])
def test_parse_resolver_rejects_names_and_bad_ports(text: str) -> None:
    with pytest.raises(ValueError):
        parse_resolver(text)


async def test_a_reply_to_another_question_is_not_taken_as_the_answer() -> None:
    """A server (or a spoofer) answering a different name with the right ID is ignored."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as liar:
        liar.bind(("127.0.0.1", 0))
        port = liar.getsockname()[1]

        def lie() -> None:
            while True:
                try:
                    wire, peer = liar.recvfrom(4096)
                except OSError:
                    return
                query = dns.message.from_wire(wire)
                other = dns.message.make_query("elsewhere.test", query.question[0].rdtype)
                other.id = query.id
                reply = dns.message.make_response(other)
                if query.question[0].rdtype == 1:
                    reply.answer.append(
                        dns.rrset.from_text("elsewhere.test.", 0, "IN", "A", "169.254.169.254")
                    )
                liar.sendto(reply.to_wire(), peer)

        threading.Thread(target=lie, daemon=True).start()
        client = DnsClient(f"127.0.0.1:{port}", timeout=0.5, clock=SYSTEM)
        answer = await client.resolve("www.example.test")
        await client.aclose()
    assert answer.addresses == ()
    assert "does not answer the question" in (answer.error or "")


def _documentation_answer(wire: bytes) -> bytes:
    """The reply to a query: 192.0.2.10 for an A question, an empty answer for any other."""
    query = dns.message.from_wire(wire)
    reply = dns.message.make_response(query)
    if query.question[0].rdtype == 1:
        name = query.question[0].name
        reply.answer.append(dns.rrset.from_text(name, 30, "IN", "A", "192.0.2.10"))
    return reply.to_wire()


async def test_a_burst_of_replies_while_the_loop_is_busy_is_not_lost() -> None:
    """A census starts with hundreds of lookups at once; their replies pile up in the socket
    while the event loop is busy with the checks. None may be dropped: a lost reply costs a
    second try a second later, or, under load, a lookup that times out on our side."""
    lookups = 500
    queries: list[bytes] = []
    go, sent = threading.Event(), threading.Event()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2**22)  # the server drops none
        server.bind(("127.0.0.1", 0))
        port = server.getsockname()[1]

        def serve() -> None:
            held: list[tuple[bytes, tuple[str, int]]] = []
            while True:
                try:
                    wire, peer = server.recvfrom(4096)
                except OSError:
                    return
                queries.append(wire)
                held.append((_documentation_answer(wire), peer))
                if len(queries) == 2 * lookups:  # every first try is in: answer all at once
                    go.wait(10)
                    for data, to in held:
                        server.sendto(data, to)
                    sent.set()
                elif len(queries) > 2 * lookups:  # a second try: answer it at once
                    server.sendto(*held[-1])

        threading.Thread(target=serve, daemon=True).start()
        client = DnsClient(f"127.0.0.1:{port}", timeout=3.0, clock=SYSTEM)
        names = [f"h{n}.example.test" for n in range(lookups)]
        pending = [asyncio.create_task(client.resolve(name)) for name in names]
        while len(queries) < 2 * lookups:
            await asyncio.sleep(0.01)
        go.set()
        assert sent.wait(10)  # the loop is blocked while every reply arrives
        answers = await asyncio.gather(*pending)
        await client.aclose()
    assert [a.addresses for a in answers] == [("192.0.2.10",)] * lookups
    assert len(queries) == 2 * lookups  # not one question had to be asked again


async def test_replies_are_read_at_once_while_the_loop_is_busy() -> None:
    """Every check running in the loop delays the next read of the socket; all replies waiting
    must be read then, not one per loop iteration (which left them unread past their try's 1 s
    and made lookups fail on our side although the resolver had answered each at once)."""
    lookups = 100
    queries: list[bytes] = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2**22)
        server.bind(("127.0.0.1", 0))
        port = server.getsockname()[1]

        def serve() -> None:
            while True:
                try:
                    wire, peer = server.recvfrom(4096)
                except OSError:
                    return
                queries.append(wire)
                server.sendto(_documentation_answer(wire), peer)

        threading.Thread(target=serve, daemon=True).start()
        client = DnsClient(f"127.0.0.1:{port}", timeout=3.0, clock=SYSTEM)
        assert (await client.resolve("warm.example.test")).ok  # the socket is open
        queries.clear()
        done = False

        async def busy() -> None:  # a check's share of one loop iteration: ~2 ms of CPU
            while not done:
                time.sleep(0.002)
                await asyncio.sleep(0)

        checks = [asyncio.create_task(busy()) for _ in range(25)]  # ~50 ms per iteration
        try:
            answers = await asyncio.gather(
                *(client.resolve(f"h{n}.example.test") for n in range(lookups))
            )
        finally:
            done = True
            await asyncio.gather(*checks)
            await client.aclose()
    assert [a.addresses for a in answers] == [("192.0.2.10",)] * lookups
    assert len(queries) == 2 * lookups  # not one question had to be asked again
