"""Who-owns-what targets of issue 3: loading the AS and RIR lists, and IP -> RIR/country lookups.

Prints medians of several runs, each beside a peer measured in the same run:
- bgp.tools asns.csv (120k rows) into an AsRegistry, beside a bare ``csv.reader`` pass over it;
- the five 2018 delegated-extended files into DelegatedStats, beside a bare line-split pass;
- 1M IPv4 and 1M IPv6 addresses -> registry and country, from arrays and from strings, beside a
  per-address ``bisect`` over the same sorted arrays (the plain-Python way).

    .venv/bin/python bench/ownership.py [--n 1000000] [--runs 5]

Data come from HOSTWATCH_TEST_DATA (default ../shared/data).
"""

from __future__ import annotations

import argparse
import bisect
import csv
import gzip
import ipaddress
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from hostwatch.net.asnames import AsRegistry
from hostwatch.net.delegated import DelegatedStats

REPO = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("HOSTWATCH_TEST_DATA", REPO.parent / "shared" / "data"))
ASNS = DATA / "08_asn-names-classes-prefixes-2026/bgp.tools-opendb_2026-05-31/asns.csv.gz"
ALL5 = DATA / "07_rir-delegated-extended-and-iana/2018-10-13_all5_from_IPToCC-2.1.2"


def median_seconds(action: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def median_cpu_seconds(action: Callable[[], object], runs: int) -> float:
    """CPU time of this process (all threads): on a shared machine, wall time mostly measures
    the neighbours."""
    times = []
    for _ in range(runs):
        start = time.process_time()
        action()
        times.append(time.process_time() - start)
    return statistics.median(times)


def bare_csv() -> int:
    with gzip.open(ASNS, "rt", encoding="utf-8") as handle:
        return sum(1 for _ in csv.reader(handle))


def bare_split(files: list[Path]) -> int:
    count = 0
    for path in files:
        with gzip.open(path, "rt", encoding="utf-8", errors="replace") as handle:
            count += sum(1 for line in handle if len(line.split("|")) > 6)
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    files = sorted(ALL5.glob("*.gz"))

    registry = AsRegistry()
    load_asns = median_seconds(lambda: registry.add_bgptools_asns(ASNS), args.runs)
    cpu_asns = median_cpu_seconds(lambda: registry.add_bgptools_asns(ASNS), args.runs)
    peer_csv = median_seconds(bare_csv, args.runs)
    print(
        f"bgp.tools asns.csv ({len(registry.bgptools):,} ASNs): {load_asns:.3f} s wall, "
        f"{cpu_asns:.3f} s CPU (bare csv.reader pass {peer_csv:.3f} s, "
        f"ratio {load_asns / peer_csv:.2f})"
    )

    stats = DelegatedStats.load(files)
    load_stats = median_seconds(lambda: DelegatedStats.load(files), args.runs)
    cpu_stats = median_cpu_seconds(lambda: DelegatedStats.load(files), args.runs)
    peer_split = median_seconds(lambda: bare_split(files), args.runs)
    rows = len(stats.ipv4.start) + len(stats.ipv6.start) + len(stats.asn.start)
    print(
        f"delegated-extended 2018, 5 RIRs ({rows:,} rows): {load_stats:.3f} s wall, "
        f"{cpu_stats:.3f} s CPU (bare line-split pass {peer_split:.3f} s, "
        f"ratio {load_stats / peer_split:.2f})"
    )

    rng = np.random.default_rng(1)
    v4 = rng.integers(0, 2**32, args.n, dtype=np.uint64).astype(np.uint32)
    v4_text = [str(ipaddress.IPv4Address(int(v))) for v in v4]
    v6_text = [
        str(ipaddress.IPv6Address(int(h) << 64))
        for h in rng.integers(0x2000 << 48, 0x2C10 << 48, args.n, dtype=np.uint64)
    ]

    def rir_and_country(addresses: object) -> tuple[np.ndarray, np.ndarray]:
        matches = stats.lookup(addresses)
        return matches.registry, matches.country

    array_s = median_seconds(lambda: rir_and_country(v4), args.runs)
    array_cpu = median_cpu_seconds(lambda: rir_and_country(v4), args.runs)
    text_s = median_seconds(lambda: rir_and_country(v4_text), args.runs)
    v6_s = median_seconds(lambda: rir_and_country(v6_text), args.runs)

    starts = stats.ipv4.start.tolist()
    ends = stats.ipv4.end.tolist()
    countries = stats.ipv4.country.tolist()
    sample = v4[:100_000].tolist()

    registries = stats.ipv4.registry.tolist()

    def per_address() -> list[tuple[str, str]]:
        out = []
        for value in sample:
            i = bisect.bisect_right(starts, value) - 1
            hit = i >= 0 and value <= ends[i]
            out.append((registries[i], countries[i]) if hit else ("", ""))
        return out

    peer_s = median_seconds(per_address, args.runs) * args.n / len(sample)
    found = float(stats.lookup(v4).found.mean())
    print(f"IPv4 -> RIR, country: {args.n:,} addresses ({found:.0%} delegated)")
    print(
        f"  from uint32 array : {array_s:.3f} s  {args.n / array_s / 1e6:6.2f} M/s "
        f"({array_cpu:.3f} s CPU)"
    )
    print(f"  from strings      : {text_s:.3f} s  {args.n / text_s / 1e6:6.2f} M/s")
    print(
        f"  per-address bisect: {peer_s:.3f} s  {args.n / peer_s / 1e6:6.2f} M/s "
        f"(array ratio {peer_s / array_s:.1f}x, strings ratio {peer_s / text_s:.1f}x)"
    )
    print(f"IPv6 -> RIR, country from strings: {v6_s:.3f} s  {args.n / v6_s / 1e6:6.2f} M/s")


if __name__ == "__main__":
    main()
