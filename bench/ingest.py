"""Intake speed: notices/s for a 1,000,000-line CSV into SQLite, and peak memory.

Generates the CSV in a temporary folder (URLs modelled on the hostnames of the OpenPhish and
PhishTank feeds: free-hosting subdomains, look-alike domains, IPv4 hosts), then ingests it three
times into a fresh database each, every run in its own process so that peak RSS is that run's;
each run is timed beside the same file read in-process (no reader process), the peer it replaces,
and the timeline of the parallel runs is printed: until the first batch, loading, the end.
A 100,000-line file is ingested too: equal peak RSS for both sizes shows that memory does not grow
with the file. Prints medians; the machine may be shared, so CPU seconds are printed as well.

    .venv/bin/python bench/ingest.py [--lines 1000000] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

PLATFORMS = (
    "vercel.app", "netlify.app", "weebly.com", "webflow.io", "blogspot.com", "firebaseapp.com",
    "000webhostapp.com", "github.io", "pages.dev", "wixsite.com", "ipfs.dweb.link", "r2.dev",
)  # fmt: skip
TLDS = ("com", "net", "org", "info", "xyz", "top", "online", "site", "co.uk", "com.br", "ru", "de")
WORDS = (
    "secure", "login", "verify", "account", "update", "paypal", "apple", "microsoft", "office",
    "bank", "wallet", "support", "service", "auth", "signin", "netflix", "amazon", "dhl", "post",
    "metamask", "coinbase", "usdt", "shopee", "chase", "wells", "outlook", "docs", "mail", "web",
)  # fmt: skip
PATHS = ("", "login.php", "index.html", "wp-admin/", "signin/", "verify/account", "auth/?id=")


def make_url(rng: random.Random) -> str:
    roll = rng.random()
    name = "-".join(rng.sample(WORDS, rng.randint(1, 3))) + str(rng.randint(0, 99999))
    if roll < 0.5:
        host = f"{name}.{rng.choice(PLATFORMS)}"
    elif roll < 0.93:
        host = (
            f"www.{name}.{rng.choice(TLDS)}" if rng.random() < 0.3 else f"{name}.{rng.choice(TLDS)}"
        )
    else:
        host = ".".join(str(rng.randint(1, 254)) for _ in range(4))
    path = rng.choice(PATHS)
    if path.endswith("="):
        path += f"{rng.getrandbits(40):x}"
    scheme = "https" if rng.random() < 0.6 else "http"
    return f"{scheme}://{host}/{path}"


def generate(path: Path, lines: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    with open(path, "w", encoding="utf-8") as out:
        out.write("reference,time,url,classification\n")
        for number in range(lines):
            when = start + timedelta(seconds=number * 7 + rng.randint(0, 6))
            out.write(f"N{number},{when.isoformat()},{make_url(rng)},phishing\n")


def child(csv_path: str, db_path: str, mode: str) -> None:
    from hostwatch.ingest.pipeline import ingest_file
    from hostwatch.model.db import migrate

    url = f"sqlite:///{db_path}"
    migrate(url)
    batches: list[float] = []  # when each batch was written; the last call comes after the end

    def progress(_done: int, _size: int) -> None:
        batches.append(time.perf_counter())

    wall, cpu = time.perf_counter(), time.process_time()
    report = ingest_file(
        csv_path, url, format="csv", source="bench", parallel=mode == "parallel", progress=progress
    )
    end, cpu = time.perf_counter(), time.process_time() - cpu
    first, loaded = batches[0] - wall, batches[-2] - wall
    wall = end - wall
    own = resource.getrusage(resource.RUSAGE_SELF)
    reader = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(
        json.dumps(
            {
                "wall": wall,
                "cpu": cpu,
                "reader_cpu": reader.ru_utime + reader.ru_stime,
                "notices": report.accepted,
                "rss_kib": own.ru_maxrss,
                "reader_rss_kib": reader.ru_maxrss,
                "first_batch": first,
                "end": wall - loaded,  # index rebuild and the run's totals
            }
        )
    )


def canonical_cost(lines: int = 50_000) -> tuple[float, float, float]:
    """CPU microseconds per URL: new hosts, cached hosts, and the general (slow-path) parser."""
    from hostwatch.ingest.canonical import _canonicalize_slow, canonicalize

    rng = random.Random(11)
    urls = [make_url(rng) for _ in range(lines)]
    figures = []
    for function in (canonicalize, canonicalize, _canonicalize_slow):
        start = time.process_time()
        for url in urls:
            function(url)
        figures.append((time.process_time() - start) / lines * 1e6)
    return figures[0], figures[1], figures[2]


def run(csv_path: Path, folder: Path, tag: str, mode: str = "parallel") -> dict[str, float]:
    db = folder / f"{tag}.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    out = subprocess.run(
        [sys.executable, __file__, "--child", str(csv_path), str(db), mode],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--child", nargs=3)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    with tempfile.TemporaryDirectory(prefix="hw-bench-ingest-") as tmp:
        folder = Path(tmp)
        big, small = folder / "big.csv", folder / "small.csv"
        generate(big, args.lines)
        generate(small, max(1, args.lines // 10))
        results, serial = [], []
        for i in range(args.runs):  # the two ways side by side in every run: load swings
            results.append(run(big, folder, f"big{i}"))
            serial.append(run(big, folder, f"serial{i}", "in-process"))
        small_result = run(small, folder, "small")
    new_host, cached, slow = canonical_cost()
    rates = [r["notices"] / r["wall"] for r in results]
    serial_rates = [r["notices"] / r["wall"] for r in serial]
    ratios = [a / b for a, b in zip(rates, serial_rates, strict=True)]
    print(
        f"lines: {args.lines:,}  runs: {args.runs}  notices stored: {int(results[0]['notices']):,}"
    )
    print(f"notices/s (wall, median): {statistics.median(rates):,.0f}   runs: "
          + ", ".join(f"{r:,.0f}" for r in rates))  # fmt: skip
    print(f"  read in the same process instead (median): {statistics.median(serial_rates):,.0f}"
          f"/s; ratio {statistics.median(ratios):.2f}x")  # fmt: skip
    writer = statistics.median(r["cpu"] for r in results) / args.lines * 1e6
    reader = statistics.median(r["reader_cpu"] for r in results) / args.lines * 1e6
    alone = statistics.median(r["cpu"] for r in serial) / args.lines * 1e6
    print(f"CPU us/notice: writer {writer:.1f} + readers {reader:.1f} in parallel; "
          f"{alone:.1f} in one process")  # fmt: skip
    first = statistics.median(r["first_batch"] for r in results)
    end = statistics.median(r["end"] for r in results)
    wall = statistics.median(r["wall"] for r in results)
    loading = wall - first - end
    print(f"timeline, s (median): first batch written {first:.1f}, then loading {loading:.1f}, "
          f"after the last batch (index rebuild, totals) {end:.1f}")  # fmt: skip
    rss = statistics.median(r["rss_kib"] + r["reader_rss_kib"] for r in results) / 1024
    small_rss = (small_result["rss_kib"] + small_result["reader_rss_kib"]) / 1024
    print(f"peak RSS (writer + largest reader): {rss:,.0f} MiB for {args.lines:,} lines; "
          f"{small_rss:,.0f} MiB for {args.lines // 10:,} lines "
          f"(ratio {rss / small_rss:.2f})")  # fmt: skip
    ratio = slow / cached
    print(f"canonicalisation, CPU us/URL: {new_host:.2f} new host, {cached:.2f} cached host "
          f"(fast path); general parser {slow:.2f} ({ratio:.1f}x the fast path)")  # fmt: skip


if __name__ == "__main__":
    main()
