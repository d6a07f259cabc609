"""Liveness checks per second against Debian nginx on loopback, with results recorded.

Starts nginx on a free loopback port with a generated config (``/u/<n>`` 200, ``/g/<n>`` 410,
anything else 404), runs the hostwatch checker over 10,000 distinct URLs several times, writing
every result to a SQLite ``checks`` table in a temp dir the way the takedown layer would, and in
the same run measures ``wrk`` (GET, same server) as the ceiling and plain aiohttp HEADs as the
peer inside Python. Prints the median checks/s, the
ratio to wrk, and the process RSS before, between and after the runs (flat memory means the
last run ends where the first did).

    .venv/bin/python bench/checks.py [--urls 10000] [--runs 5] [--concurrency 100] [--names]

``--names`` gives every URL a host name (100 distinct) that dnsmasq on loopback resolves for
each check, so the figure includes a DNS round trip (A and AAAA) per check.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import resource
import shutil
import socket
import sqlite3
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from hostwatch.clock import Clock
from hostwatch.net.dns import DnsClient
from hostwatch.takedown.checker import (
    AddressPolicy,
    Checker,
    CheckResult,
    CheckRunner,
    Politeness,
)

NGINX_CONF = """
worker_processes {workers};
daemon off;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    keepalive_requests 1000000;
    server {{
        listen 127.0.0.1:{port};
        location ~ "^/u/[0-9]+$" {{ return 200 "present\\n"; }}
        location ~ "^/g/[0-9]+$" {{ return 410; }}
        location / {{ return 404; }}
    }}
}}
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


cpu_per_check: list[float] = []


def rss_mib() -> float:
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * resource.getpagesize() / 2**20


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def urls(port: int, count: int, names: bool) -> list[str]:
    """IP-literal URLs, or with ``names`` URLs on 100 host names that need a DNS lookup each."""
    paths = {7: "/g/{n}", 9: "/missing/{n}"}
    return [
        (f"http://h{n % 100}.bench.test:{port}" if names else f"http://127.0.0.1:{port}")
        + paths.get(n % 10, "/u/{n}").format(n=n)
        for n in range(count)
    ]


def start_dnsmasq(port: int) -> subprocess.Popen[bytes]:
    """dnsmasq answering every name under bench.test with 127.0.0.1 (TTL 0: no caching)."""
    dnsmasq = shutil.which("dnsmasq") or "/usr/sbin/dnsmasq"
    return subprocess.Popen(
        [
            dnsmasq,
            "--keep-in-foreground",
            "--conf-file=/dev/null",
            "--no-resolv",
            "--no-hosts",
            "--user=root",
            "--pid-file=",
            "--bind-interfaces",
            "--listen-address=127.0.0.1",
            f"--port={port}",
            "--address=/bench.test/127.0.0.1",
            "--dns-forward-max=1000",
        ]
    )


def start_nginx(tmp: Path, port: int, workers: int) -> subprocess.Popen[bytes]:
    conf = tmp / "nginx.conf"
    conf.write_text(NGINX_CONF.format(tmp=tmp, port=port, workers=workers))
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    process = subprocess.Popen([nginx, "-c", str(conf), "-e", str(tmp / "error.log")])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process
        except OSError:
            time.sleep(0.05)
    process.terminate()
    raise RuntimeError("nginx did not start")


def run_wrk(port: int, seconds: int, connections: int) -> float:
    """wrk's GET rate: wrk waits for a body after HEAD responses that carry Content-Length."""
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", f"http://127.0.0.1:{port}/u/1"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    match = re.search(r"Requests/sec:\s+([0-9.]+)", out)
    if match is None:
        raise RuntimeError(f"unexpected wrk output:\n{out}")
    return float(match.group(1))


class Recorder:
    """Writes results to SQLite in batches, keeping nothing else."""

    def __init__(self, path: Path) -> None:
        self.db = sqlite3.connect(path)
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS checks (url TEXT, outcome TEXT, status INTEGER,"
            " ip TEXT, headers TEXT, redirects TEXT, total REAL, error TEXT, checked_at TEXT)"
        )
        self.batch: list[tuple[object, ...]] = []
        self.outcomes: dict[str, int] = {}

    def __call__(self, result: CheckResult) -> None:
        self.outcomes[result.outcome.value] = self.outcomes.get(result.outcome.value, 0) + 1
        self.batch.append(
            (
                result.url,
                result.outcome.value,
                result.status,
                result.ip,
                json.dumps(result.headers),
                json.dumps([h.url for h in result.redirects]),
                result.timing.total,
                result.error,
                result.checked_at.isoformat(),
            )
        )
        if len(self.batch) >= 1000:
            self.flush()

    def flush(self) -> None:
        self.db.executemany("INSERT INTO checks VALUES (?,?,?,?,?,?,?,?,?)", self.batch)
        self.db.commit()
        self.batch.clear()


async def bare_aiohttp(targets: list[str], concurrency: int) -> float:
    """The peer inside Python: plain aiohttp HEADs, nothing vetted, timed or recorded."""
    import aiohttp

    source = iter(targets)
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def work() -> None:
            for url in source:
                async with session.head(url) as response:
                    response.status  # noqa: B018 - touch it like a real client would

        started = time.perf_counter()
        await asyncio.gather(*(work() for _ in range(concurrency)))
        return len(targets) / (time.perf_counter() - started)


async def one_run(targets: list[str], concurrency: int, recorder: Recorder, resolver: str) -> float:
    policy = AddressPolicy.allowing(["127.0.0.0/8"])
    clock = Clock.system()
    async with Checker(policy, DnsClient(resolver, clock=clock), clock) as checker:
        runner = CheckRunner(
            checker,
            concurrency=concurrency,
            politeness=Politeness(per_host=concurrency, min_interval=0.0),
        )
        started, cpu = time.perf_counter(), time.process_time()
        async for result in runner.stream(targets):
            recorder(result)
        recorder.flush()
        cpu_per_check.append((time.process_time() - cpu) / len(targets))
        return len(targets) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--urls", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--nginx-workers", type=int, default=1)
    parser.add_argument("--wrk-seconds", type=int, default=5)
    parser.add_argument(
        "--names",
        action="store_true",
        help="use host names resolved per check by dnsmasq on loopback instead of IP literals",
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="hostwatch-bench-") as folder:
        tmp = Path(folder)
        port = free_port()
        nginx = start_nginx(tmp, port, args.nginx_workers)
        dns_port = free_port()
        dnsmasq = start_dnsmasq(dns_port) if args.names else None
        try:
            targets = urls(port, args.urls, args.names)
            recorder = Recorder(tmp / "checks.sqlite")
            rss = [("start", rss_mib())]
            rates, bare = [], []
            for run in range(args.runs):
                resolver = f"127.0.0.1:{dns_port}"
                rates.append(asyncio.run(one_run(targets, args.concurrency, recorder, resolver)))
                rss.append((f"after run {run + 1}", rss_mib()))
                if not args.names:
                    bare.append(asyncio.run(bare_aiohttp(targets, args.concurrency)))
                print(
                    f"run {run + 1}: checker {rates[-1]:,.0f} checks/s"
                    + (f", bare aiohttp {bare[-1]:,.0f} HEAD/s" if bare else "")
                )
            wrk = run_wrk(port, args.wrk_seconds, args.concurrency)
            rows = recorder.db.execute("SELECT count(*) FROM checks").fetchone()[0]
        finally:
            for process in (nginx, dnsmasq):
                if process is not None:
                    process.terminate()
                    process.wait(timeout=10)

    median = statistics.median(rates)
    mode = "host names via dnsmasq" if args.names else "IP literals"
    print(
        f"urls per run: {args.urls:,} ({mode}); runs: {args.runs}; concurrency: {args.concurrency}"
    )
    print(f"outcomes recorded: {recorder.outcomes} ({rows:,} rows in SQLite)")
    print(f"checker median: {median:,.0f} checks/s (min {min(rates):,.0f}, max {max(rates):,.0f})")
    print(f"wrk (GET, 2 threads, same server, same run): {wrk:,.0f} req/s")
    print(f"ratio checker/wrk: {median / wrk:.3f}")
    cpu = statistics.median(cpu_per_check)
    print(
        f"checker CPU (this process, user+sys) median: {cpu * 1e6:.0f} us/check = "
        f"{1 / cpu:,.0f} checks per CPU-second (robust to other load on the machine)"
    )
    if bare:
        peer = statistics.median(bare)
        print(
            f"bare aiohttp HEAD median (same run): {peer:,.0f}/s; "
            f"ratio checker/bare aiohttp: {median / peer:.3f}"
        )
    print("RSS MiB: " + ", ".join(f"{label} {value:.1f}" for label, value in rss))
    print(f"peak RSS MiB: {peak_rss_mib():.1f}")


if __name__ == "__main__":
    main()
