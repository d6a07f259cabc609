"""Many checks: bounded concurrency, per-host politeness, streamed results, the blocking form."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING

import pytest

from hostwatch.settings import Settings
from hostwatch.takedown.checker import (
    Checker,
    CheckResult,
    CheckRunner,
    CheckSession,
    Outcome,
    Politeness,
    run_checks,
)

if TYPE_CHECKING:
    from tests.takedown.checker.conftest import HttpServer, ScriptedDns

MakeChecker = Callable[..., Checker]
FREE = Politeness(per_host=1000, min_interval=0.0)


async def test_all_results_stream_out_with_bounded_concurrency(
    http_server: HttpServer, make_checker: MakeChecker
) -> None:
    urls = [http_server.url(f"/pause?n={n}") for n in range(40)]
    async with make_checker() as checker:
        runner = CheckRunner(checker, concurrency=5, politeness=FREE)
        results = [result async for result in runner.stream(urls)]
    assert sorted(result.url for result in results) == sorted(urls)
    assert all(result.outcome is Outcome.ONLINE for result in results)
    assert 1 < http_server.log.max_in_flight <= 5
    assert len(runner.gate) == 0


async def test_per_host_limit_holds_even_with_spare_concurrency(
    http_server: HttpServer, make_checker: MakeChecker
) -> None:
    urls = [http_server.url(f"/pause?n={n}") for n in range(12)]
    async with make_checker() as checker:
        runner = CheckRunner(
            checker, concurrency=10, politeness=Politeness(per_host=2, min_interval=0.0)
        )
        results = [result async for result in runner.stream(urls)]
    assert len(results) == 12
    assert http_server.log.max_in_flight == 2


async def test_minimum_interval_spaces_the_starts_per_host(
    http_server: HttpServer, make_checker: MakeChecker
) -> None:
    urls = [http_server.url(f"/ok?n={n}") for n in range(4)]
    async with make_checker() as checker:
        runner = CheckRunner(
            checker, concurrency=4, politeness=Politeness(per_host=4, min_interval=0.2)
        )
        results = [result async for result in runner.stream(urls)]
    assert len(results) == 4
    starts = sorted(http_server.log.started)
    # four starts 0.2 s apart span 0.6 s; the margin absorbs delivery jitter on a busy machine
    assert starts[-1] - starts[0] >= 0.5


async def test_method_can_be_chosen_per_check(
    http_server: HttpServer, make_checker: MakeChecker
) -> None:
    async with make_checker() as checker:
        runner = CheckRunner(checker, politeness=FREE)
        results = [
            r
            async for r in runner.stream(
                [(http_server.url("/ok"), "GET"), http_server.url("/gone")]
            )
        ]
    assert {result.method for result in results} == {"GET", "HEAD"}


async def test_requests_are_pulled_lazily_and_results_not_accumulated(
    http_server: HttpServer, make_checker: MakeChecker
) -> None:
    pulled = 0

    def source() -> Iterator[str]:
        nonlocal pulled
        for n in range(200):
            pulled += 1
            yield http_server.url(f"/ok?n={n}")

    seen = 0
    most_ahead = 0
    async with make_checker() as checker:
        runner = CheckRunner(checker, concurrency=8, politeness=FREE)
        async for _ in runner.stream(source()):
            seen += 1
            most_ahead = max(most_ahead, pulled - seen)
    assert seen == 200
    assert most_ahead <= 2 * 8 + 1


async def test_stopping_early_cancels_the_rest(
    http_server: HttpServer, make_checker: MakeChecker
) -> None:
    urls = [http_server.url(f"/pause?n={n}") for n in range(1000)]
    async with make_checker() as checker:
        runner = CheckRunner(checker, concurrency=4, politeness=FREE)
        stream = runner.stream(urls)
        async for _ in stream:
            break
        await stream.aclose()  # type: ignore[attr-defined]
    assert len(http_server.log.requests) < 20


class _Head(BaseHTTPRequestHandler):
    def do_HEAD(self) -> None:
        self.send_response(200 if self.path.startswith("/u/") else 404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        return None


@pytest.fixture
def threaded_server() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Head)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def site_settings(scripted_dns: ScriptedDns) -> Settings:
    """Settings whose resolver knows site.test (at 127.0.0.1) and whose clock is pinned."""
    scripted_dns.script("site.test", ["127.0.0.1"])
    return Settings(
        allow_networks="127.0.0.0/8",
        resolver=scripted_dns.address,
        now=datetime(2024, 3, 1, tzinfo=UTC),
    )


def test_blocking_run_checks_uses_settings_and_calls_back_per_result(
    threaded_server: int, scripted_dns: ScriptedDns
) -> None:
    settings = site_settings(scripted_dns)
    results: list[CheckResult] = []
    count = run_checks(
        [
            f"http://site.test:{threaded_server}/u/1",
            f"http://127.0.0.1:{threaded_server}/x",
            "http://10.0.0.1/",
        ],
        results.append,
        settings,
        politeness=FREE,
    )
    by_url = {result.url: result for result in results}
    assert count == 3
    assert by_url[f"http://site.test:{threaded_server}/u/1"].outcome is Outcome.ONLINE
    assert by_url[f"http://127.0.0.1:{threaded_server}/x"].status == 404
    assert by_url["http://10.0.0.1/"].outcome is Outcome.BLOCKED
    assert all(result.checked_at >= datetime(2024, 3, 1, tzinfo=UTC) for result in results)


def test_a_check_session_serves_pass_after_pass_each_at_its_own_instant(
    threaded_server: int, scripted_dns: ScriptedDns
) -> None:
    settings = site_settings(scripted_dns)
    first, second = datetime(2024, 3, 1, 9, tzinfo=UTC), datetime(2024, 3, 2, 9, tzinfo=UTC)
    present, absent = (
        f"http://site.test:{threaded_server}/u/1",
        f"http://site.test:{threaded_server}/x",
    )
    one: list[CheckResult] = []
    two: list[CheckResult] = []
    with CheckSession(settings, politeness=FREE) as session:
        assert session.run([present, absent], one.append, now=first) == 2
        assert session.run([present, "http://10.0.0.1/"], two.append, now=second) == 2
    assert {r.url: r.status for r in one} == {present: 200, absent: 404}
    assert {r.url: r.outcome for r in two} == {
        present: Outcome.ONLINE,
        "http://10.0.0.1/": Outcome.BLOCKED,
    }
    assert {r.checked_at for r in one} == {first}
    assert {r.checked_at for r in two} == {second}
