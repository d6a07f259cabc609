"""Whose fault a failed check is: one test per row of the table in docs/DESIGN.md ("Check
outcomes and whose fault"), each against a real server (or a real absence of one) on loopback.

Every check runs through a CheckRunner, the path the workflow takes, so what is asserted is
the judged result the ``checks`` table receives: the outcome, the failure kind, and the
inconclusive reason (None = counts towards "removed").
"""

from __future__ import annotations

import re
import resource
import time
from collections.abc import Callable
from pathlib import Path

import dns.rcode
import pytest

from conftest import FAST, LOOPBACK, PINNED, HttpServer, ScriptedDns
from hostwatch.clock import Clock
from hostwatch.net.dns import DnsClient
from hostwatch.takedown.checker import (
    FAILURES,
    AddressPolicy,
    Checker,
    CheckOptions,
    CheckResult,
    CheckRunner,
    Outcome,
    Politeness,
    Side,
)
from hostwatch.takedown.checker.health import BatchHealth

DESIGN = Path(__file__).resolve().parents[3] / "docs" / "DESIGN.md"
FREE = Politeness(per_host=100, min_interval=0)


async def judged(
    checker: Checker, *urls: str, on_result: Callable[[CheckResult], None] | None = None
) -> list[CheckResult]:
    """Check ``urls`` through a runner, as the workflow does; results in request order."""
    found: dict[str, CheckResult] = {}
    async with checker:
        runner = CheckRunner(checker, concurrency=4, politeness=FREE)
        async for result in runner.stream(list(urls)):
            found[result.url] = result
            if on_result is not None:
                on_result(result)
    return [found[url] for url in urls]


def with_resolver(address: str, **options: object) -> Checker:
    clock = Clock.at(PINNED)
    options.setdefault("timeouts", FAST)
    return Checker(
        AddressPolicy.allowing(LOOPBACK),
        DnsClient(address, timeout=1.0, clock=clock),
        clock,
        CheckOptions(**options),  # type: ignore[arg-type]
    )


def counts(result: CheckResult, kind: str) -> None:
    assert result.failure == kind, (result.failure, result.error)
    assert FAILURES[kind].side is Side.TARGET
    assert result.inconclusive is None, result.inconclusive


def inconclusive(result: CheckResult, kind: str) -> None:
    assert result.failure == kind, (result.failure, result.error)
    assert result.inconclusive == kind
    assert not result.online


# --- the target's doing: these count towards "removed" ---------------------------------------


async def test_nxdomain_from_the_authoritative_server_counts(
    make_checker, scripted_dns: ScriptedDns, http_server: HttpServer
) -> None:
    (result,) = await judged(make_checker(), http_server.url("/ok", host="gone.test"))
    assert result.outcome is Outcome.NXDOMAIN
    counts(result, "nxdomain")
    assert ("gone.test", "A") in scripted_dns.queries


async def test_a_name_without_addresses_counts(
    make_checker, scripted_dns: ScriptedDns, http_server: HttpServer
) -> None:
    scripted_dns.script("empty.test", [])
    (result,) = await judged(make_checker(), http_server.url("/ok", host="empty.test"))
    assert result.outcome is Outcome.DNS_FAIL
    counts(result, "no-address")


async def test_tcp_refused_by_the_target_counts(make_checker, refused_port: int) -> None:
    (result,) = await judged(make_checker(), f"http://127.0.0.1:{refused_port}/")
    assert result.outcome is Outcome.REFUSED
    counts(result, "tcp-refused")


async def test_reset_or_closed_by_the_target_counts(
    make_checker, resetting_server: int, closing_server: int
) -> None:
    reset, closed = await judged(
        make_checker(),
        f"http://127.0.0.1:{resetting_server}/",
        f"http://127.0.0.1:{closing_server}/",
    )
    counts(reset, "tcp-reset")
    counts(closed, "tcp-reset")


async def test_a_target_that_never_answers_counts(make_checker, http_server: HttpServer) -> None:
    (result,) = await judged(make_checker(), http_server.url("/slow"))
    assert result.outcome is Outcome.TIMEOUT
    counts(result, "timeout")


async def test_tls_failure_at_the_target_counts(make_checker, https_server: HttpServer) -> None:
    # the server's certificate is signed by nobody the checker trusts
    (result,) = await judged(make_checker(), https_server.url("/ok"))
    assert result.outcome is Outcome.TLS_ERROR
    counts(result, "tls")


async def test_404_and_410_count_and_other_errors_too(
    make_checker, http_server: HttpServer
) -> None:
    missing, gone, broken = await judged(
        make_checker(),
        http_server.url("/no-such-page"),
        http_server.url("/gone"),
        http_server.url("/broken"),
    )
    assert (missing.status, gone.status, broken.status) == (404, 410, 503)
    counts(missing, "http-gone")
    counts(gone, "http-gone")
    counts(broken, "http-error")


async def test_a_malformed_response_counts(make_checker, raw_server) -> None:
    port = await raw_server(b"SSH-2.0-OpenSSH_9.6\r\n\r\n")
    (result,) = await judged(make_checker(), f"http://127.0.0.1:{port}/")
    counts(result, "malformed")


async def test_a_redirect_loop_counts(make_checker, http_server: HttpServer) -> None:
    (result,) = await judged(make_checker(max_redirects=3), http_server.url("/loop"))
    counts(result, "bad-redirect")


# --- the target withholds its answer ---------------------------------------------------------


async def test_rate_limited_is_inconclusive(make_checker, http_server: HttpServer) -> None:
    (result,) = await judged(make_checker(), http_server.url("/busy"))
    assert result.status == 429
    inconclusive(result, "rate-limited")


# --- hostwatch's own side: inconclusive ------------------------------------------------------


async def test_our_resolver_not_answering_is_inconclusive(
    silent_resolver: str, http_server: HttpServer
) -> None:
    (result,) = await judged(
        with_resolver(silent_resolver), http_server.url("/ok", host="site.test")
    )
    assert result.outcome is Outcome.DNS_FAIL
    inconclusive(result, "resolver-timeout")


async def test_nothing_listening_at_our_resolver_is_inconclusive(
    dead_resolver: str, http_server: HttpServer
) -> None:
    # an unconnected UDP socket never hears the port-unreachable: it is a silent resolver
    (result,) = await judged(with_resolver(dead_resolver), http_server.url("/ok", host="site.test"))
    inconclusive(result, "resolver-timeout")


async def test_our_resolver_unreachable_is_inconclusive(http_server: HttpServer) -> None:
    # The kernel refuses to send to the broadcast address (EACCES) before any packet leaves:
    # the resolver cannot be reached at all, as when the route to it is gone.
    (result,) = await judged(
        with_resolver("255.255.255.255:53"), http_server.url("/ok", host="site.test")
    )
    inconclusive(result, "resolver-unreachable")


@pytest.mark.parametrize(
    ("rcode", "kind"),
    [
        (dns.rcode.SERVFAIL, "resolver-servfail"),
        (dns.rcode.REFUSED, "resolver-refused"),
        (dns.rcode.NOTIMP, "resolver-error"),
    ],
)
async def test_our_resolver_failing_is_inconclusive(
    make_checker, scripted_dns: ScriptedDns, http_server: HttpServer, rcode, kind: str
) -> None:
    scripted_dns.rcodes["site.test"] = rcode
    (result,) = await judged(make_checker(), http_server.url("/ok", host="site.test"))
    inconclusive(result, kind)


async def test_no_route_is_inconclusive(make_checker) -> None:
    # The kernel refuses a TCP connect to the broadcast address with ENETUNREACH before any
    # packet leaves: the same error a checker without a route out gets for every target.
    (result,) = await judged(
        make_checker(allow=(*LOOPBACK, "255.255.255.255/32")), "http://255.255.255.255:9/"
    )
    inconclusive(result, "no-route")


async def test_out_of_file_descriptors_is_inconclusive(
    make_checker, http_server: HttpServer
) -> None:
    checker = make_checker()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    fillers = []
    async with checker:
        resource.setrlimit(
            resource.RLIMIT_NOFILE, (len(list(Path("/proc/self/fd").iterdir())) + 32, hard)
        )
        try:
            while True:
                fillers.append(open("/dev/null"))  # noqa: SIM115 - held open on purpose
        except OSError:
            pass
        try:
            runner = CheckRunner(checker, concurrency=1, politeness=FREE)
            results = [r async for r in runner.stream([http_server.url("/ok")])]
        finally:
            for handle in fillers:
                handle.close()
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    (result,) = results
    inconclusive(result, "local-resource")
    assert "Too many open files" in (result.error or "")


@pytest.mark.parametrize("blocked", [3.5, 1.5])
async def test_a_starved_checker_is_inconclusive(
    make_checker, http_server: HttpServer, blocked: float
) -> None:
    """The process stops running (here: the result handler blocks the event loop) while a
    check waits on a slow target. Blocked 3.5 s, the check's 2 s budget cannot fire on time and
    the check overruns it; blocked 1.5 s, the budget fires on time but the check waited through
    a stall. Either way its timeout says nothing about the target."""

    def block(result: CheckResult) -> None:
        if result.url.endswith("/ok"):
            time.sleep(blocked)

    ok, slow = await judged(
        make_checker(), http_server.url("/ok"), http_server.url("/slow"), on_result=block
    )
    assert ok.online
    assert slow.outcome is Outcome.TIMEOUT
    assert (slow.timing.total > FAST.total * 1.5) is (blocked > FAST.total * 1.5)
    assert slow.failure == "timeout"
    assert slow.inconclusive == "checker-starved"


async def test_a_definite_answer_read_after_a_stall_still_counts(
    make_checker, http_server: HttpServer
) -> None:
    """The 410 arrives while the loop is blocked and is read late: it is still the target's."""

    def block(result: CheckResult) -> None:
        if result.url.endswith("/ok"):
            time.sleep(1.5)

    _, gone = await judged(
        make_checker(), http_server.url("/ok"), http_server.url("/late-gone"), on_result=block
    )
    assert gone.timing.total > 1.4  # it waited through the stall
    counts(gone, "http-gone")


async def test_a_slow_target_without_a_stall_still_counts(
    make_checker, http_server: HttpServer
) -> None:
    ok, slow = await judged(make_checker(), http_server.url("/ok"), http_server.url("/slow"))
    assert ok.online
    counts(slow, "timeout")


async def test_an_unknown_failure_is_not_trusted(make_checker, http_server: HttpServer) -> None:
    checker = make_checker()
    async with checker:
        runner = CheckRunner(checker, concurrency=1, politeness=FREE)
        (result,) = [r async for r in runner.stream([(http_server.url("/ok"), "DELETE")])]
    inconclusive(result, "unclassified")


# --- not checkable ---------------------------------------------------------------------------


async def test_a_forbidden_address_is_not_checkable(make_checker, http_server: HttpServer) -> None:
    (result,) = await judged(make_checker(allow=()), http_server.url("/ok"))
    assert result.outcome is Outcome.BLOCKED
    inconclusive(result, "blocked-by-policy")
    assert http_server.log.requests == []


async def test_an_unusable_url_is_not_checkable(make_checker) -> None:
    (result,) = await judged(make_checker(), "http://exa mple.test/")
    inconclusive(result, "invalid-url")


# --- the table itself ------------------------------------------------------------------------


def test_design_table_lists_every_failure_kind_with_its_side() -> None:
    text = DESIGN.read_text()
    section = text.split("## Check outcomes and whose fault", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        match = re.fullmatch(r"`([a-z-]+)`", cells[0]) if len(cells) >= 4 else None
        if match:
            rows[match.group(1)] = cells
    expected = {*FAILURES, "control-dns-failed", "control-url-failed"}
    assert set(rows) == expected
    for kind, failure in FAILURES.items():
        counted = rows[kind][3].lower()
        assert counted.startswith("yes" if failure.counts else "no"), (kind, counted)


def test_a_batch_where_every_check_failed_on_our_side_is_unhealthy() -> None:
    from hostwatch.takedown.checker.controls import UNCONTROLLED

    failed = CheckResult(
        "http://a.test/",
        Outcome.DNS_FAIL,
        Clock.at(PINNED).now(),
        failure="resolver-timeout",
        inconclusive="resolver-timeout",
    )
    health = BatchHealth.of([failed, failed], UNCONTROLLED, UNCONTROLLED, controlled=False)
    assert (health.ok, health.reason, health.own) == (False, "own-side-failures", 2)
    assert health.as_dict()["controls"] == "none"


def test_runner_gives_every_kind_a_reason_or_none() -> None:
    from hostwatch.takedown.checker.fault import own_reason

    for kind, failure in FAILURES.items():
        assert own_reason(kind) == (None if failure.counts else kind)
    assert own_reason("something-new") == "unclassified"
