"""Running many checks: bounded concurrency, per-host politeness, results judged and streamed.

Results leave the runner one by one (an async iterator, or a callback in the blocking form) so
that a pass over 10,000 or 10 million URLs holds only the checks in flight and at most one batch:
the caller records each result (the takedown layer writes it to the ``checks`` table) and drops
it. Requests are pulled lazily from the iterable given, so a generator over a database cursor
works too.

Each result is judged (``fault``): a failure that can be hostwatch's own, or one whose check far
overran its budget or waited through an event-loop stall (``stalls``: the process was starved),
is marked inconclusive. With control probes
configured (``controls``), results are held per batch of ``BATCH`` and leave only after the probe
that follows the batch: every failure of a batch whose probe before or after it failed is marked
inconclusive too. The probes run once before the first check and once after each batch, while
the next checks are already in flight, so they cost no concurrency. What each batch showed about
the checker itself is handed to ``on_health`` (the takedown layer records it as an observation).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterable, Sized
from contextlib import aclosing, suppress
from dataclasses import replace
from datetime import datetime
from time import perf_counter

from hostwatch.clock import Clock
from hostwatch.net.dns import DnsClient
from hostwatch.settings import Settings
from hostwatch.takedown.checker.client import Checker, CheckOptions
from hostwatch.takedown.checker.controls import UNCONTROLLED, ControlReport, Controls
from hostwatch.takedown.checker.fault import STARVABLE, STARVED, STARVED_FACTOR, own_reason
from hostwatch.takedown.checker.health import BatchHealth
from hostwatch.takedown.checker.policy import AddressPolicy
from hostwatch.takedown.checker.politeness import HostGate, Politeness
from hostwatch.takedown.checker.result import CheckResult
from hostwatch.takedown.checker.stalls import StallWatch

CheckRequest = str | tuple[str, str | None]
"""A URL, or a URL with the method for that one check (``"HEAD"`` or ``"GET"``)."""

_END = object()
BATCH = 200
"""Results judged per pair of control probes: one probe per 200 checks costs ~0.5% more
requests, and a batch spans seconds, so the probes bracket each check closely."""
HealthSink = Callable[[BatchHealth], None]


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


def judge(result: CheckResult, budget: float, *, stalled: bool = False) -> CheckResult:
    """The result with the inconclusive reason its own failure carries, if any.

    A failure counts only when its kind is the target's doing and, for a failure made of
    waiting (``STARVABLE``), the process ran while the check waited: a check that took far
    longer than its total timeout allows, or during which the event loop stalled
    (``stalled``), was not running when its timers fired, so its timeout says nothing
    trustworthy. A definite answer (404, NXDOMAIN, refused) read late is still the answer."""
    if result.online:
        return result
    reason = own_reason(result.failure or "unclassified")
    overran = stalled or result.timing.total > budget * STARVED_FACTOR
    if reason is None and result.failure in STARVABLE and overran:
        reason = STARVED
    return replace(result, inconclusive=reason) if reason else result


def settle(
    batch: list[CheckResult], before: ControlReport, after: ControlReport
) -> list[CheckResult]:
    """The batch with its counting failures made inconclusive when a control probe failed."""
    reason = before.reason if not before.ok else after.reason
    if reason is None:
        return batch
    return [
        replace(r, inconclusive=reason) if not r.online and r.inconclusive is None else r
        for r in batch
    ]


class CheckRunner:
    """Runs checks through one Checker with ``concurrency`` in flight and a HostGate;
    ``controls`` are probed around every ``batch`` results."""

    def __init__(
        self,
        checker: Checker,
        *,
        concurrency: int = 100,
        politeness: Politeness | None = None,
        controls: Controls | None = None,
        batch: int = BATCH,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.checker = checker
        self.concurrency = concurrency
        self.controls = controls or Controls()
        self.batch = batch
        politeness = politeness or Politeness()
        self.gate = HostGate(politeness)
        self._gated = politeness.per_host < concurrency or politeness.min_interval > 0

    async def check(self, request: CheckRequest) -> CheckResult:
        url, method = (request, None) if isinstance(request, str) else request
        if not self._gated:
            return await self.checker.check(url, method)
        async with self.gate.slot(_host_key(url)):
            return await self.checker.check(url, method)

    async def probe(self) -> ControlReport:
        if not self.controls.configured:
            return UNCONTROLLED
        return await self.controls.probe(self.checker)

    async def stream(
        self, requests: Iterable[CheckRequest], on_health: HealthSink | None = None
    ) -> AsyncIterator[CheckResult]:
        """Yield judged results batch by batch, in completion order within a batch; stopping
        early cancels the checks in flight. ``on_health`` gets each batch's health first."""
        if isinstance(requests, Sized) and not len(requests):
            return
        budget = self.checker.options.timeouts.total
        before = await self.probe()
        batch: list[CheckResult] = []
        # without controls nothing can change a result after it is judged: it leaves at once
        held = self.controls.configured
        async with StallWatch() as watch, aclosing(self._completed(requests)) as completed:
            async for result, started, ended in completed:
                judged = judge(result, budget, stalled=watch.stalled(started, ended))
                batch.append(judged)
                if not held:
                    yield judged
                if len(batch) >= self.batch:
                    after = await self.probe()
                    for settled in self._close(batch, before, after, on_health):
                        if held:
                            yield settled
                    before, batch = after, []
        if batch:
            for settled in self._close(batch, before, await self.probe(), on_health):
                if held:
                    yield settled

    def _close(
        self,
        batch: list[CheckResult],
        before: ControlReport,
        after: ControlReport,
        on_health: HealthSink | None,
    ) -> list[CheckResult]:
        settled = settle(batch, before, after)
        if on_health is not None:
            on_health(BatchHealth.of(settled, before, after, self.controls.configured))
        return settled

    async def _completed(
        self, requests: Iterable[CheckRequest]
    ) -> AsyncIterator[tuple[CheckResult, float, float]]:
        """Raw results in completion order, with when their check started and ended."""
        queue: asyncio.Queue[object] = asyncio.Queue(maxsize=self.concurrency)
        source = iter(requests)
        failure: list[BaseException] = []

        async def work() -> None:
            for request in source:
                started = perf_counter()
                result = await self.check(request)
                await queue.put((result, started, perf_counter()))

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
                assert isinstance(item, tuple)
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
    on_health: HealthSink | None = None,
) -> int:
    count = 0
    async for result in runner.stream(requests, on_health):
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
        on_health: HealthSink | None = None,
    ) -> int:
        """Check every request, calling ``on_result`` for each and ``on_health`` for each
        batch; returns the number made."""
        if now is not None:
            self.clock.set(now)
        return self._loop.run(self._run(requests, on_result, on_health))

    async def _run(
        self,
        requests: Iterable[CheckRequest],
        on_result: Callable[[CheckResult], None],
        on_health: HealthSink | None,
    ) -> int:
        if self._runner is None:
            checker = open_checker(self.settings, self.clock, self.options)
            await checker.__aenter__()
            self._checker = checker
            self._runner = CheckRunner(
                checker,
                concurrency=self.concurrency,
                politeness=self.politeness,
                controls=Controls.from_settings(self.settings),
            )
        return await _drain(self._runner, requests, on_result, on_health)

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
    on_health: HealthSink | None = None,
) -> int:
    """Blocking form for callers outside an event loop; returns the number of checks made.
    The control probes are the settings' (``control_dns_name``, ``control_urls``)."""

    async def main() -> int:
        async with open_checker(settings, clock, options) as checker:
            runner = CheckRunner(
                checker,
                concurrency=concurrency,
                politeness=politeness,
                controls=Controls.from_settings(settings),
            )
            return await _drain(runner, requests, on_result, on_health)

    return asyncio.run(main())
