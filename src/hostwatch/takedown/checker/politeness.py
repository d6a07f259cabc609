"""Per-host politeness: few checks at a time per host, and a pause between their starts.

Reported URLs cluster on a few hosts (one bad hoster, one file-sharing site); without a per-host
limit a pass of checks becomes a burst against one server, which gets the hotline's checker
blocked and looks like an attack. The gate is keyed by the reported URL's host (redirect hops
are not gated separately; ``max_redirects`` bounds them) and forgets hosts that are idle and past
their pause, so its memory follows the hosts in flight, not the hosts ever seen. Hosts still in
their pause are swept only when the gate has doubled since the last sweep: a census keeps 5,000
hosts pausing at once, and sweeping them all after every check cost a tenth of its CPU.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from time import monotonic

SWEEP_ABOVE = 1024
"""Hosts the gate holds before it first sweeps out those idle and past their pause."""


@dataclass(frozen=True)
class Politeness:
    """``per_host`` checks in flight per host at most; ``min_interval`` seconds between starts."""

    per_host: int = 2
    min_interval: float = 1.0


class _HostState:
    __slots__ = ("gate", "next_start", "users")

    def __init__(self, per_host: int) -> None:
        self.gate = asyncio.Semaphore(per_host)
        self.next_start = 0.0
        self.users = 0


class HostGate:
    """Hands out per-host slots according to a Politeness: ``async with gate.slot(host):``."""

    def __init__(self, politeness: Politeness) -> None:
        self.politeness = politeness
        self._hosts: dict[str, _HostState] = {}
        self._sweep_above = SWEEP_ABOVE

    def __len__(self) -> int:
        return len(self._hosts)

    def slot(self, host: str) -> _Slot:
        return _Slot(self, host)

    async def _enter(self, host: str) -> _HostState:
        state = self._hosts.get(host)
        if state is None:
            state = self._hosts[host] = _HostState(self.politeness.per_host)
        state.users += 1
        try:
            await state.gate.acquire()
        except BaseException:
            self._leave(host, state, acquired=False)
            raise
        interval = self.politeness.min_interval
        if interval > 0:
            now = monotonic()
            wait = state.next_start - now
            state.next_start = max(now, state.next_start) + interval
            if wait > 0:
                try:
                    await asyncio.sleep(wait)
                except BaseException:
                    self._leave(host, state)
                    raise
        return state

    def _leave(self, host: str, state: _HostState, *, acquired: bool = True) -> None:
        if acquired:
            state.gate.release()
        state.users -= 1
        if state.users == 0 and state.next_start <= monotonic():
            del self._hosts[host]
        elif len(self._hosts) > self._sweep_above:
            self._forget_idle()

    def _forget_idle(self) -> None:
        now = monotonic()
        for host in [h for h, s in self._hosts.items() if s.users == 0 and s.next_start <= now]:
            del self._hosts[host]
        self._sweep_above = max(SWEEP_ABOVE, 2 * len(self._hosts))


class _Slot:
    """A class-based context manager: cheaper per check than a generator-based one."""

    __slots__ = ("gate", "host", "state")

    def __init__(self, gate: HostGate, host: str) -> None:
        self.gate = gate
        self.host = host
        self.state: _HostState | None = None

    async def __aenter__(self) -> None:
        self.state = await self.gate._enter(self.host)

    async def __aexit__(self, *exc_info: object) -> None:
        assert self.state is not None
        self.gate._leave(self.host, self.state)
