"""Running many checks: bounded concurrency, per-host politeness, results streamed out.

Results leave the runner one by one (an async iterator, or a callback in the blocking form) so
that a pass over 10,000 or 10 million URLs holds only the checks in flight: the caller records
each result (the takedown layer writes it to the ``checks`` table) and drops it. Requests are
pulled lazily from the iterable given, so a generator over a database cursor works too.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterable, Sized
from contextlib import suppress
from datetime import datetime

from hostwatch.clock import Clock
from hostwatch.net.dns import DnsClient
from hostwatch.settings import Settings
from hostwatch.takedown.checker.client import Checker, CheckOptions
from hostwatch.takedown.checker.policy import AddressPolicy
from hostwatch.takedown.checker.politeness import HostGate, Politeness
from hostwatch.takedown.checker.result import CheckResult

CheckRequest = str | tuple[str, str | None]
"""A URL, or a URL with the method for that one check (``"HEAD"`` or ``"GET"``)."""

_END = object()


def open_checker(
    settings: Settings, clock: Clock | None = None, options: CheckOptions | None = None
) -> Checker:
    """A Checker configured from settings: ``allow_networks``, ``resolver`` and the clock."""
    options = options or CheckOptions()
    clock = clock or settings.clock()
    dns = DnsClient(settings.resolver, timeout=options.timeouts.dns, clock=clock)
    return Checker(AddressPolicy.from_settings(settings), dns, clock, options)


def _host_key(url: str) -> str:
    """The politeness key: the URL's authority without user info, cheaply and never failing.

    It need not be exact (the check parses the URL properly); it must only put the URLs of one
    server under one key.
    """
    authority = url.strip().partition("://")[2] or url
    for stop in "/?#\\":
        authority = authority.partition(stop)[0]
    return authority.rpartition("@")[2].lower()[:255]


class CheckRunner:
    """Runs checks through one Checker with ``concurrency`` in flight and a HostGate."""

    def __init__(
        self,
        checker: Checker,
        *,
        concurrency: int = 100,
        politeness: Politeness | None = None,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.checker = checker
        self.concurrency = concurrency
        politeness = politeness or Politeness()
        self.gate = HostGate(politeness)
        self._gated = politeness.per_host < concurrency or politeness.min_interval > 0

    async def check(self, request: CheckRequest) -> CheckResult:
        url, method = (request, None) if isinstance(request, str) else request
        if not self._gated:
            return await self.checker.check(url, method)
        async with self.gate.slot(_host_key(url)):
            return await self.checker.check(url, method)

    async def stream(self, requests: Iterable[CheckRequest]) -> AsyncIterator[CheckResult]:
        """Yield results in completion order; stopping early cancels the checks in flight."""
        queue: asyncio.Queue[object] = asyncio.Queue(maxsize=self.concurrency)
        source = iter(requests)
        failure: list[BaseException] = []

        async def work() -> None:
            for request in source:
                await queue.put(await self.check(request))

        async def finish(workers: list[asyncio.Task[None]]) -> None:
            try:
                await asyncio.gather(*workers)
            except Exception as exc:
                failure.append(exc)
                for worker in workers:
                    worker.cancel()
            await queue.put(_END)

        # a pass of three checks needs three workers, not a hundred idle tasks
        count = self.concurrency
        if isinstance(requests, Sized):
            count = max(1, min(count, len(requests)))
        workers = [asyncio.create_task(work()) for _ in range(count)]
        finisher = asyncio.create_task(finish(workers))
        try:
            while (item := await queue.get()) is not _END:
                assert isinstance(item, CheckResult)
                yield item
            if failure:
                raise failure[0]
        finally:
            for task in (*workers, finisher):
                task.cancel()
            with suppress(asyncio.CancelledError):
                await asyncio.gather(*workers, finisher, return_exceptions=True)


async def _drain(
    runner: CheckRunner,
    requests: Iterable[CheckRequest],
    on_result: Callable[[CheckResult], None],
) -> int:
    count = 0
    async for result in runner.stream(requests):
        on_result(result)
        count += 1
    return count


class CheckSession:
    """Blocking checks for many passes through one event loop and one open Checker.

    Opening an event loop, an HTTP session and DNS sockets costs more than the few checks of a
    typical pass; a process that makes pass after pass (``hostwatch run``, a replay) keeps one
    session open instead. Every ``run`` is stamped with its pass's instant: the session's clock is
    pinned to it, as a one-shot ``run_checks`` with ``Clock.at(now)`` would be. Per-host
    politeness spans the runs, so a host is spaced out across passes too. Not thread-safe: one
    session per thread.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        options: CheckOptions | None = None,
        concurrency: int = 100,
        politeness: Politeness | None = None,
    ) -> None:
        self.settings = settings
        self.options = options
        self.concurrency = concurrency
        self.politeness = politeness
        self.clock = Clock.at(settings.clock().now())
        self._loop = asyncio.Runner()
        self._checker: Checker | None = None
        self._runner: CheckRunner | None = None

    def run(
        self,
        requests: Iterable[CheckRequest],
        on_result: Callable[[CheckResult], None],
        *,
        now: datetime | None = None,
    ) -> int:
        """Check every request, calling ``on_result`` for each; returns the number made."""
        if now is not None:
            self.clock.set(now)
        return self._loop.run(self._run(requests, on_result))

    async def _run(
        self, requests: Iterable[CheckRequest], on_result: Callable[[CheckResult], None]
    ) -> int:
        if self._runner is None:
            checker = open_checker(self.settings, self.clock, self.options)
            await checker.__aenter__()
            self._checker = checker
            self._runner = CheckRunner(
                checker, concurrency=self.concurrency, politeness=self.politeness
            )
        return await _drain(self._runner, requests, on_result)

    def close(self) -> None:
        """Close the checker's connections and sockets, then the event loop."""
        try:
            if self._checker is not None:
                self._loop.run(self._checker.__aexit__(None, None, None))
        finally:
            self._checker = self._runner = None
            self._loop.close()

    def __enter__(self) -> CheckSession:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def run_checks(
    requests: Iterable[CheckRequest],
    on_result: Callable[[CheckResult], None],
    settings: Settings,
    *,
    clock: Clock | None = None,
    options: CheckOptions | None = None,
    concurrency: int = 100,
    politeness: Politeness | None = None,
) -> int:
    """Blocking form for callers outside an event loop; returns the number of checks made."""

    async def main() -> int:
        async with open_checker(settings, clock, options) as checker:
            runner = CheckRunner(checker, concurrency=concurrency, politeness=politeness)
            return await _drain(runner, requests, on_result)

    return asyncio.run(main())
