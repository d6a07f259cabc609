"""The per-host gate with thousands of hosts in their pause at once (a census of a long list)."""

from __future__ import annotations

import asyncio
import time

from hostwatch.takedown.checker.politeness import SWEEP_ABOVE, HostGate, Politeness


async def test_thousands_of_pausing_hosts_are_remembered_without_a_sweep_per_check() -> None:
    gate = HostGate(Politeness(per_host=1, min_interval=60.0))
    hosts = [f"h{n}.test" for n in range(20_000)]
    started = time.process_time()
    for host in hosts:
        async with gate.slot(host):
            pass
    spent = time.process_time() - started
    # every host is in its minute's pause: forgetting one would let its next check start early
    assert len(gate) == len(hosts)
    # sweeping all pausing hosts after each check took 3.5 s of CPU here (200 million looks)
    assert spent < 2.0, spent


async def test_hosts_past_their_pause_are_forgotten() -> None:
    gate = HostGate(Politeness(per_host=1, min_interval=0.01))
    for n in range(3 * SWEEP_ABOVE):
        async with gate.slot(f"h{n}.test"):
            pass
    await asyncio.sleep(0.05)
    async with gate.slot("last.test"):
        pass
    for n in range(2 * SWEEP_ABOVE):  # a second wave, the first one's pauses long over
        async with gate.slot(f"again{n}.test"):
            pass
    assert len(gate) <= 2 * SWEEP_ABOVE + 1
