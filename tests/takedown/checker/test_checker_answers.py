"""One DNS answer per host (``CheckOptions.one_answer_per_host``, the census's mode) against the
scripted DNS server and a real HTTP server on loopback: one lookup per host, one result per URL."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING

import dns.rcode

from hostwatch.takedown.checker import Checker, Controls, Outcome

if TYPE_CHECKING:
    from tests.takedown.checker.conftest import HttpServer, ScriptedDns

MakeChecker = Callable[..., Checker]


async def test_urls_on_one_host_share_its_answer_but_each_gets_its_own_result(
    http_server: HttpServer, scripted_dns: ScriptedDns, make_checker: MakeChecker
) -> None:
    scripted_dns.script("many.test", ["127.0.0.1"])
    paths = ["/ok", "/gone", "/ok?b", "/busy"] * 5
    url = f"http://many.test:{http_server.port}"
    async with make_checker(one_answer_per_host=True) as checker:
        together = await asyncio.gather(*(checker.check(url + path) for path in paths))
        later = await checker.check(url + "/gone")
    assert scripted_dns.a_queries("many.test") == 1
    assert [r.outcome for r in together[:4]] == [
        Outcome.ONLINE, Outcome.HTTP_ERROR, Outcome.ONLINE, Outcome.HTTP_ERROR
    ]  # fmt: skip
    assert [r.failure for r in together[:4]] == [None, "http-gone", None, "rate-limited"]
    assert [r.url for r in together] == [url + path for path in paths]
    assert later.outcome is Outcome.HTTP_ERROR and later.ip == "127.0.0.1"
    # every URL was requested by itself: 21 HEADs, one per check, with the host's name
    assert sorted(s.path for s in http_server.log.requests) == sorted([*paths, "/gone"])
    assert {s.method for s in http_server.log.requests} == {"HEAD"}
    hosts = {s.headers["Host"] for s in http_server.log.requests}
    assert hosts == {f"many.test:{http_server.port}"}


async def test_the_zones_no_is_kept_too(
    scripted_dns: ScriptedDns, make_checker: MakeChecker
) -> None:
    scripted_dns.script("empty.test", [])
    async with make_checker(one_answer_per_host=True) as checker:
        missing = [await checker.check(f"http://missing.test/{n}") for n in range(3)]
        empty = [await checker.check(f"http://empty.test/{n}") for n in range(3)]
    assert [r.failure for r in missing] == ["nxdomain"] * 3
    assert [r.failure for r in empty] == ["no-address"] * 3
    assert scripted_dns.a_queries("missing.test") == scripted_dns.a_queries("empty.test") == 1


async def test_our_resolvers_failure_is_not_kept_the_next_url_asks_again(
    http_server: HttpServer, scripted_dns: ScriptedDns, make_checker: MakeChecker
) -> None:
    scripted_dns.script("flaky.test", ["127.0.0.1"])
    scripted_dns.rcodes["flaky.test"] = dns.rcode.SERVFAIL
    url = f"http://flaky.test:{http_server.port}/ok"
    async with make_checker(one_answer_per_host=True) as checker:
        failed = await checker.check(url)
        del scripted_dns.rcodes["flaky.test"]
        recovered = await checker.check(url + "?2")
        again = await checker.check(url + "?3")
    assert failed.failure == "resolver-servfail"
    assert recovered.outcome is Outcome.ONLINE and again.outcome is Outcome.ONLINE
    assert scripted_dns.a_queries("flaky.test") == 2  # the failure, then one answer for both


async def test_control_probes_and_the_default_mode_still_ask_every_time(
    http_server: HttpServer, scripted_dns: ScriptedDns, make_checker: MakeChecker
) -> None:
    """The control name proves our resolver works now: a kept answer would prove nothing."""
    scripted_dns.script("control.test", ["127.0.0.1"])
    scripted_dns.script("monitored.test", ["127.0.0.1"])
    controls = Controls(dns_name="control.test")
    async with make_checker(one_answer_per_host=True) as census:
        reports = [await controls.probe(census) for _ in range(3)]
    async with make_checker() as monitor:
        for n in range(3):
            await monitor.check(f"http://monitored.test:{http_server.port}/ok?{n}")
    assert all(report.ok for report in reports)
    assert scripted_dns.a_queries("control.test") == 3
    assert scripted_dns.a_queries("monitored.test") == 3


async def test_answers_end_with_the_checker(
    http_server: HttpServer, scripted_dns: ScriptedDns, make_checker: MakeChecker
) -> None:
    """A checker opened again (a second census) asks afresh: the host may have moved."""
    scripted_dns.script("moved.test", ["127.0.0.1"], ["127.0.0.3"])
    url = f"http://moved.test:{http_server.port}/ok"
    checker = make_checker(one_answer_per_host=True)
    async with checker:
        first = [await checker.check(f"{url}?{n}") for n in range(2)]
    async with checker:
        second = await checker.check(url)
    assert [r.ip for r in first] == ["127.0.0.1", "127.0.0.1"]
    assert second.addresses == ("127.0.0.3",)


async def test_the_names_of_one_server_share_its_kept_alive_connection_and_fetch_no_body(
    http_server: HttpServer, scripted_dns: ScriptedDns, make_checker: MakeChecker
) -> None:
    """A hoster's many names on one address: one connection serves them all in turn (the
    server picks each virtual host by the request's Host), and a HEAD left on it reads nothing:
    the next check's answer comes over the same connection after a terabyte-long resource."""
    names = [f"site{n}.test" for n in range(12)]
    for name in names:
        scripted_dns.script(name, ["127.0.0.1"])
    async with make_checker(one_answer_per_host=True) as checker:
        results = [
            await checker.check(f"http://{name}:{http_server.port}{('/ok', '/huge')[n % 2]}")
            for n, name in enumerate(names)
        ]
    assert [r.status for r in results] == [200] * 12
    seen = http_server.log.requests
    assert [s.headers["Host"] for s in seen] == [f"{n}:{http_server.port}" for n in names]
    assert {s.method for s in seen} == {"HEAD"}
    assert len({s.client_port for s in seen}) == 1  # one connection for twelve names
    assert http_server.log.body_bytes_sent == 0
