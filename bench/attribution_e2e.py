"""End to end: attribute 1,000,000 notices with known IPs on the 2026 table (target < 30 s).

Builds a fresh SQLite database in a temporary folder with bulk inserts: URLs whose host is an IP
literal (half) or a domain with the address the reporter gave (half), addresses drawn inside
real announced prefixes of ../shared/data/08 (90 % IPv4, 10 % IPv6), one notice per URL. The
routing table is stored in its binary snapshot form first (as ``hostwatch data import`` does)
and catalogued with the bgp.tools and AS-Prefix name lists. Then ``attribute_pending`` is timed.

Prints notices/s (wall clock and this process's CPU time: the machine may be shared, and CPU time
is what the process itself cost) and the split of the run: reference loading, address lookups
(parse, special-space screen, routing, RIR country, WHOIS), providers and row assembly
("attribute", lookups shown apart) against reading notices and writing attributions
("database"); and, measured in the same run, a bare ``table.lookup`` of the same addresses.

    .venv/bin/python bench/attribution_e2e.py [--notices N] [--runs R]
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from hostwatch.attribution.batch import attribute_pending
from hostwatch.attribution.reference import load_reference_set, register_snapshot
from hostwatch.model.db import migrate, session_scope
from hostwatch.net.addresses import ipv4_to_text, ipv6_to_text
from hostwatch.net.routing import RoutingTable
from hostwatch.settings import Settings

DATA = Path(
    os.environ.get("HOSTWATCH_TEST_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
)
SET_08 = DATA / "08_asn-names-classes-prefixes-2026"
PFX2AS = SET_08 / "as-prefix_2026-06-19" / "asprefix_pfx2as.tsv.gz"
BGPTOOLS = SET_08 / "bgp.tools-opendb_2026-05-31"
ASPREFIX_NAMES = SET_08 / "as-prefix_2026-06-19" / "asprefix_asnames.tsv.gz"
T0 = datetime(2026, 7, 1, tzinfo=UTC)


def sample_addresses(table: RoutingTable, n: int, rng: np.random.Generator) -> list[str]:
    """Addresses inside random announced prefixes: 90 % IPv4, 10 % IPv6."""
    routes = table.routes
    n6 = n // 10
    n4 = n - n6
    pick4 = rng.integers(0, routes.v4_length.size, n4)
    span4 = (np.uint64(1) << (32 - routes.v4_length[pick4].astype(np.uint64))).astype(np.uint64)
    offset4 = (rng.random(n4) * span4).astype(np.uint64)
    v4 = (routes.v4_network[pick4].astype(np.uint64) + offset4).astype(np.uint32)
    pick6 = rng.integers(0, routes.v6_length.size, n6)
    net6 = routes.v6_network[pick6].copy()
    host_bits = np.clip(64 - routes.v6_length[pick6].astype(np.int64), 0, 63)
    net6[:, 0] |= rng.integers(0, 1 << 62, n6, dtype=np.uint64) & (
        (np.uint64(1) << host_bits.astype(np.uint64)) - np.uint64(1)
    )
    net6[:, 1] = rng.integers(0, 1 << 62, n6, dtype=np.uint64)
    texts = ipv4_to_text(v4) + ipv6_to_text(net6)
    order = rng.permutation(n)
    return [texts[i] for i in order.tolist()]


def build_database(path: Path, addresses: list[str]) -> None:
    """URLs and notices straight into SQLite with executemany (the bench's own fixture)."""
    con = sqlite3.connect(path)
    stamp = lambda i: T0.replace(tzinfo=None).timestamp() + i  # noqa: E731
    urls, notices = [], []
    for i, ip in enumerate(addresses):
        url_id = i + 1
        when = datetime.fromtimestamp(stamp(i), UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
        if i % 2:
            host, kind, reported = f"site{i}.example-{i % 997}.com", "domain", ip
        else:
            host, kind, reported = (
                (f"[{ip}]" if ":" in ip else ip),
                ("ipv6" if ":" in ip else "ipv4"),
                None,
            )
        urls.append(
            (url_id, f"http://{host}/p{i}", "http", host.strip("[]"), kind, None, None, when)
        )
        notices.append(
            (
                i + 1,
                f"bench-{i}",
                url_id,
                "bench",
                "csv",
                None,
                None,
                when,
                reported,
                "-",
                i + 1,
                None,
                None,
            )
        )
    con.executemany("INSERT INTO urls VALUES (?,?,?,?,?,?,?,?)", urls)
    con.executemany("INSERT INTO notices VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", notices)
    con.commit()
    con.close()


def one_run(
    workdir: Path, table_path: Path, addresses: list[str], table: RoutingTable
) -> dict[str, float]:
    db = workdir / f"bench-{time.monotonic_ns()}.db"
    url = f"sqlite:///{db}"
    migrate(url)
    build_database(db, addresses)
    with session_scope(url) as session:
        for kind, path in (
            ("routing", table_path),
            ("asnames", BGPTOOLS),
            ("asnames", ASPREFIX_NAMES),
        ):
            register_snapshot(
                session,
                kind,
                path,
                loaded_at=T0,
                valid_at=datetime(2026, 6, 19, tzinfo=UTC) if kind == "routing" else None,
            )
    load_reference_set.cache_clear()
    settings = Settings(database_url=url, state_dir=workdir / "state", _env_file=None)  # type: ignore[call-arg]
    t0, c0 = time.perf_counter(), time.process_time()
    summary = attribute_pending(settings, progress=False)
    total, cpu = time.perf_counter() - t0, time.process_time() - c0
    t1 = time.perf_counter()
    table.lookup(addresses)
    bare = time.perf_counter() - t1
    assert summary.notices == len(addresses), summary
    db.unlink()
    return {
        "seconds": total,
        "cpu": cpu,
        "rate": len(addresses) / total,
        "attribute": summary.attribute_seconds,
        "lookup": summary.lookup_seconds,
        "database": summary.database_seconds,
        "bare_lookup": bare,
        "ok_share": summary.by_status["ok"] / summary.notices,
        "providers": summary.providers_created,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--notices", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        t0 = time.perf_counter()
        table = RoutingTable.load(PFX2AS)
        stored = table.save(workdir / "asprefix_2026-06-19.routes")
        print(
            f"table: {table!r}, parsed in {time.perf_counter() - t0:.1f} s, stored as {stored.name}"
        )
        addresses = sample_addresses(table, args.notices, np.random.default_rng(7))
        runs = [one_run(workdir, stored, addresses, table) for _ in range(args.runs)]
    for i, run in enumerate(runs, 1):
        print(
            f"run {i}: {run['seconds']:.1f} s wall, {run['cpu']:.1f} s CPU = "
            f"{run['rate']:,.0f} notices/s "
            f"(attribute {run['attribute']:.1f} s of which address lookups {run['lookup']:.1f} s, "
            f"database {run['database']:.1f} s; "
            f"bare lookup {run['bare_lookup']:.2f} s; ok {run['ok_share']:.1%}; "
            f"providers created {run['providers']:,})"
        )
    median = statistics.median(run["seconds"] for run in runs)
    cpu = statistics.median(run["cpu"] for run in runs)
    attribute = statistics.median(r["attribute"] for r in runs)
    database = statistics.median(r["database"] for r in runs)
    print(
        f"median: {median:.1f} s wall ({cpu:.1f} s CPU of this process) for {args.notices:,} "
        f"notices = {args.notices / median:,.0f} notices/s wall, {args.notices / cpu:,.0f}/s CPU "
        f"(target: 1,000,000 in < 30 s); attribute {attribute:.1f} s, database {database:.1f} s"
    )
    load = os.getloadavg()[0]
    print(f"load average during the runs: {load:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
