"""Benchmark: ``hostwatch census`` over 100,000 URLs on loopback (target: under a minute).

Starts Debian nginx on a free loopback port (``/u/<n>`` 200, ``/g/<n>`` 410) and dnsmasq answering
every name under bench.test with 127.0.0.1 (both as bench/checks.py does), writes a list of URLs
on 5,000 host names (a list from a hotline names many hosts; the checker's politeness allows one
check per second per host, so URLs on one host cannot go faster than that), every tenth one
gone, one line in a thousand not a URL; links 127.0.0.0/24 to a provider in a fresh SQLite
database, and runs the census as the command does: read, check every URL once (DNS, HEAD, no
body), attribute, count. Prints the wall time, the rate and the counts, so that a wrong count
cannot hide behind a fast time.

    .venv/bin/python bench/census.py [--urls 100000]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from checks import free_port, start_dnsmasq, start_nginx

HOSTS = 5000


def write_list(path: Path, port: int, count: int) -> None:
    with path.open("w") as out:
        for n in range(count):
            if n % 1000 == 999:
                out.write(f"not a url {n}\n")
            kind = "g" if n % 10 == 9 else "u"
            out.write(f"http://h{n % HOSTS}.bench.test:{port}/{kind}/{n}\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--urls", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        port = free_port()
        nginx = start_nginx(tmp, port, 1)
        dns_port = free_port()
        dnsmasq = start_dnsmasq(dns_port)
        try:
            os.environ.update(
                HOSTWATCH_CONFIG=str(tmp / "absent.toml"),
                HOSTWATCH_DATABASE_URL=f"sqlite:///{tmp / 'bench.db'}",
                HOSTWATCH_STATE_DIR=str(tmp / "state"),
                HOSTWATCH_ALLOW_NETWORKS="127.0.0.0/8",
                HOSTWATCH_RESOLVER=f"127.0.0.1:{dns_port}",
            )
            from typer.testing import CliRunner

            from hostwatch.census import run_census
            from hostwatch.cli.app import app
            from hostwatch.model.db import migrate
            from hostwatch.settings import configure

            settings = configure()
            migrate(settings.database_url)
            runner = CliRunner()
            for argv in (
                ["providers", "add", "Loopback Hosting", "--provenance", "bench"],
                ["providers", "link", "Loopback Hosting", "--prefix", "127.0.0.0/24",
                 "--provenance", "bench"],
            ):  # fmt: skip
                result = runner.invoke(app, argv)
                assert result.exit_code == 0, result.output
            listing = tmp / "list.txt"
            write_list(listing, port, args.urls)
            print(f"cores: {os.cpu_count()}, load {os.getloadavg()[0]:.1f}, {args.urls:,} URLs")
            start, cpu = time.perf_counter(), time.process_time()
            census = run_census(listing, settings)
            elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
        finally:
            for process in (nginx, dnsmasq):
                process.terminate()
                process.wait()
    totals = census.totals()
    print(f"  census of {totals['urls']:,} URLs: {elapsed:.1f} s ({totals['urls'] / elapsed:,.0f} "
          "URLs/s; target < 60 s)")  # fmt: skip
    per_url = cpu / totals["urls"] * 1000
    print(f"  CPU {cpu:.1f} s in the census process ({per_url:.2f} ms per URL); "
          f"load at the end {os.getloadavg()[0]:.1f}")  # fmt: skip
    print("  phases: " + ", ".join(f"{k} {v:.1f} s" for k, v in census.seconds.items()))
    print(f"  totals {totals}; lines skipped {len(census.problems):,}")
    print(f"  reasons {census.reasons()}")
    print(f"  by provider {census.by('provider').to_dicts()}")


if __name__ == "__main__":
    main()
