"""Routing-table targets of issue 3, measured in one run beside pyasn.

Prints: exactness against pyasn (IPv4 and IPv6 on the 2026 table) and against the Team Cymru
sample; lookups per second from Python lists of strings and from parsed arrays, with the ratio to
pyasn measured in the same run; the time to load a stored snapshot; the table's memory.

    .venv/bin/python bench/attribution.py [--n 1000000] [--runs 5]

Data come from HOSTWATCH_TEST_DATA (default ../shared/data). Addresses: four fifths drawn inside
random announced prefixes, one fifth uniform (IPv4: whole space; IPv6: 2000::/3).
"""

from __future__ import annotations

import argparse
import ast
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyasn

from hostwatch.net.addresses import ipv4_to_text, ipv6_mask, ipv6_to_text
from hostwatch.net.routing import RoutingTable

REPO = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("HOSTWATCH_TEST_DATA", REPO.parent / "shared" / "data"))
TABLE_2026 = DATA / "08_asn-names-classes-prefixes-2026/as-prefix_2026-06-19/asprefix_pfx2as.tsv.gz"
CYMRU = DATA / "02_pyasn-routeviews-ipasn"


def draw_ipv4(table: RoutingTable, n: int, rng: np.random.Generator) -> np.ndarray:
    routes = table.routes
    pick = rng.integers(0, routes.v4_length.size, n)
    host_bits = (32 - routes.v4_length[pick]).astype(np.uint64)
    host = rng.integers(0, 2**32, n, dtype=np.uint64) & ((np.uint64(1) << host_bits) - np.uint64(1))
    out = (routes.v4_network[pick].astype(np.uint64) | host).astype(np.uint32)
    out[: n // 5] = rng.integers(0, 2**32, n // 5, dtype=np.uint64).astype(np.uint32)
    return rng.permutation(out)


def draw_ipv6(table: RoutingTable, n: int, rng: np.random.Generator) -> np.ndarray:
    routes = table.routes
    pick = rng.integers(0, routes.v6_length.size, n)
    mask = ipv6_mask(routes.v6_length[pick])
    noise = rng.integers(0, 2**64, (n, 2), dtype=np.uint64)
    out = routes.v6_network[pick] | (noise & ~mask)
    out[: n // 5, 0] = (noise[: n // 5, 0] >> np.uint64(3)) | np.uint64(0x2000 << 48)
    return out[rng.permutation(n)]


def write_pyasn_dat(table: RoutingTable, path: Path) -> None:
    texts = table.routes.prefix_texts(np.arange(len(table)))
    with path.open("w") as handle:
        handle.write("; IP-ASN32-DAT file\n")
        for prefix, asn in zip(texts, table.routes.origin.tolist(), strict=True):
            handle.write(f"{prefix}\t{asn}\n")


def pyasn_answers(reference: pyasn.pyasn, texts: list[str]) -> list[tuple[int | None, str]]:
    lookup = reference.lookup
    return [lookup(t) for t in texts]


def pyasn_seconds_per_lookup(reference: pyasn.pyasn, texts: list[str]) -> float:
    lookup = reference.lookup
    start = time.perf_counter()
    for text in texts:
        lookup(text)
    return (time.perf_counter() - start) / len(texts)


def interleaved(
    reference: pyasn.pyasn,
    peer_texts: list[str],
    action: Callable[[], object],
    n: int,
    runs: int,
) -> tuple[float, float, float]:
    """Median (ours/s, pyasn/s, ratio): each run times pyasn and then us, back to back.

    The machine is shared and its load swings; timing the two side by side in every run and
    taking the median of the per-run ratios keeps the ratio honest under that noise.
    """
    action()
    ours, theirs, ratios = [], [], []
    for run in range(runs):
        part = peer_texts[(run * 100_000) % len(peer_texts) :][:100_000]
        peer = 1 / pyasn_seconds_per_lookup(reference, part)
        start = time.perf_counter()
        action()
        rate = n / (time.perf_counter() - start)
        ours.append(rate)
        theirs.append(peer)
        ratios.append(rate / peer)
    return statistics.median(ours), statistics.median(theirs), statistics.median(ratios)


def differences(table: RoutingTable, texts: list[str], answers: list) -> tuple[int, float]:
    result = table.lookup(texts)
    prefixes = result.prefix
    asns = result.origin_asn.tolist()
    differ = 0
    for i, (asn, prefix) in enumerate(answers):
        if (asn if asn is not None else -1) != asns[i] or prefix != prefixes[i]:
            differ += 1
    return differ, float(result.matched.mean())


def cymru_agreement() -> tuple[int, int, int]:
    text = (CYMRU / "cymru.map").read_text()
    truth: dict[str, int | None] = ast.literal_eval(text[text.index("{") :])
    table = RoutingTable.load(CYMRU / "ipasn_20140513.dat.gz")
    reference = pyasn.pyasn(str(CYMRU / "ipasn_20140513.dat.gz"))
    ips = list(truth)
    ours = table.lookup(ips).origin_asn.tolist()
    ours_ok = sum((a if a != -1 else None) == truth[ip] for ip, a in zip(ips, ours, strict=True))
    theirs_ok = sum(reference.lookup(ip)[0] == truth[ip] for ip in ips)
    return ours_ok, theirs_ok, len(ips)


def stored_load_in_fresh_process(stored: Path, runs: int) -> tuple[float, float, float]:
    """Median load time, tracemalloc peak and peak RSS (VmHWM, MB) of load + 1M lookups, alone."""
    script = f"""
import statistics, time, tracemalloc
import numpy as np
from hostwatch.net.routing import RoutingTable
path = {str(stored)!r}
times = []
for _ in range({runs}):
    t = time.perf_counter()
    table = RoutingTable.load(path)
    times.append(time.perf_counter() - t)
    del table
tracemalloc.start()
table = RoutingTable.load(path)
ips = np.random.default_rng(1).integers(0, 2**32, 1_000_000, dtype=np.uint64)
table.lookup(ips.astype(np.uint32))
peak = tracemalloc.get_traced_memory()[1] / 2**20
tracemalloc.stop()
status = open("/proc/self/status").read().split("VmHWM:")[1].split()[0]
print(statistics.median(times), peak, int(status) / 1024)
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"stored-load measurement failed:\n{done.stderr}")
    out = done.stdout
    seconds, peak, rss = map(float, out.split())
    return seconds, peak, rss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="addresses per family")
    parser.add_argument("--runs", type=int, default=5, help="timed runs per figure (median)")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)

    print(f"table: {TABLE_2026}")
    start = time.perf_counter()
    table = RoutingTable.load(TABLE_2026)
    print(f"  read from text in {time.perf_counter() - start:.1f} s: {table!r}")
    with tempfile.TemporaryDirectory() as tmp:
        stored = table.save(Path(tmp) / "table-2026.npz")
        size = stored.stat().st_size / 2**20
        load_s, traced, rss = stored_load_in_fresh_process(stored, args.runs)
        print(f"  stored snapshot: {size:.0f} MB on disk; load {load_s:.3f} s (target < 1 s)")
        print(
            f"  memory, fresh process, load + 1M lookups: tracemalloc peak {traced:.0f} MB, "
            f"peak RSS {rss:.0f} MB (target < 300 MB)"
        )
        table = RoutingTable.load(stored)
        dat = Path(tmp) / "table-2026.dat"
        write_pyasn_dat(table, dat)
        reference = pyasn.pyasn(str(dat))

    v4_arr = draw_ipv4(table, args.n, rng)
    v6_arr = draw_ipv6(table, args.n, rng)
    v4_txt = ipv4_to_text(v4_arr)
    v6_txt = ipv6_to_text(v6_arr)

    print(f"\nexactness against pyasn on the same table ({args.n:,} addresses per family):")
    for family, texts in (("IPv4", v4_txt), ("IPv6", v6_txt)):
        differ, matched = differences(table, texts, pyasn_answers(reference, texts))
        print(f"  {family}: {differ} differ (prefix or origin); {matched:.1%} covered")
    ours_ok, theirs_ok, total = cymru_agreement()
    print(
        f"  Team Cymru sample (2014-05-13, {total} IPs): hostwatch agrees on {ours_ok}, "
        f"pyasn on {theirs_ok}"
    )

    def lookup_asn(ips: object) -> object:
        return table.lookup(ips).origin_asn

    def lookup_with_prefix(ips: object) -> object:
        return table.lookup(ips).prefix

    figures = [
        ("IPv4 strings -> origin_asn", lambda: lookup_asn(v4_txt), v4_txt, 30),
        ("IPv4 strings -> origin_asn + prefix text", lambda: lookup_with_prefix(v4_txt), v4_txt, 0),
        ("IPv4 uint32 array -> origin_asn", lambda: lookup_asn(v4_arr), v4_txt, 100),
        ("IPv6 strings -> origin_asn", lambda: lookup_asn(v6_txt), v6_txt, 10),
        ("IPv6 strings -> origin_asn + prefix text", lambda: lookup_with_prefix(v6_txt), v6_txt, 0),
        ("IPv6 (n, 2) uint64 array -> origin_asn", lambda: lookup_asn(v6_arr), v6_txt, 0),
    ]
    print(
        f"\nspeed, lookups/s, median of {args.runs} runs; each run times pyasn (100k strings, one "
        "call each) and then hostwatch (the whole batch) back to back; ratio = median of the "
        "per-run ratios:"
    )
    for name, action, peer_texts, target in figures:
        ours, theirs, ratio = interleaved(reference, peer_texts, action, args.n, args.runs)
        goal = f" (target >= {target}x)" if target else ""
        print(
            f"  {name}: hostwatch {ours / 1e6:.2f} M/s, pyasn {theirs / 1e6:.2f} M/s, "
            f"ratio {ratio:.1f}x{goal}"
        )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"\npeak RSS of this whole benchmark process (text parse, pyasn, 2M test strings): "
        f"{peak:.0f} MB"
    )


if __name__ == "__main__":
    main()
