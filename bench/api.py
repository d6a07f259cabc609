"""Load on the API: many concurrent clients against ``hostwatch serve``, SQLite and PostgreSQL.

    .venv/bin/python bench/api.py [--db sqlite|postgres|both] [--clients 200] [--seconds 60]
        [--writers 100] [--write-seconds 30] [--readers 200] [--read-seconds 30]
        [--cases 5000] [--bulk 100000] [--warmup 5] [--workers N (default: serve's own)]

For each database: a fresh database (a PostgreSQL database, or a SQLite file) filled with
providers, cases and tokens, the real server started on loopback, then

1. writes: ``--writers`` clients, each with a provider token, acknowledging and resolving that
   provider's cases for ``--write-seconds`` while one more client polls ``/healthz``; prints the
   write statuses (the 5xx count first), writes/s, the write p99 and the ``/healthz`` p99; then
   runs ``hostwatch audit verify`` and prints its verdict;
2. reads: ``--readers`` provider clients paging through their case list and their feed
   (``?limit=50``, ``X-Next-Cursor``; back to the first page after the last) for
   ``--read-seconds`` after ``--warmup`` seconds (printed apart); prints requests/s, p50/p99
   and the CPU per request of the server and of this client;
3. the mixed read load of before (analyst lists, provider-scoped lists and feeds, single cases,
   researcher aggregates, ETag revalidation) with ``--clients`` for ``--seconds`` (0 skips it).

With ``--bulk N`` it then streams one CSV body of N notices to /api/v1/notices/bulk (and one of
N/10 for comparison) while sampling the server's resident memory, and prints the peaks.
Everything runs on 127.0.0.1 and stops by itself; the databases are dropped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from tempfile import TemporaryDirectory

import psycopg

PG = os.environ.get("HOSTWATCH_TEST_PG", "postgresql://postgres@127.0.0.1:5432")
T0 = datetime(2024, 3, 1, tzinfo=UTC)


def populate(url: str, providers: int, cases: int) -> dict[str, object]:
    from hostwatch.attribution.assets import AssetRules, verify
    from hostwatch.identity import url_id
    from hostwatch.model import Attribution, Case, Provider, Url
    from hostwatch.model.db import migrate, session_scope
    from hostwatch.web.auth import create_token

    migrate(url)
    rng = random.Random(7)
    tokens: dict[str, object] = {"providers": []}
    case_ids: list[int] = []
    by_provider: dict[int, list[int]] = {}
    with session_scope(url) as s:
        for p in range(providers):
            s.add(Provider(name=f"Provider {p}", source="auto", created_at=T0, updated_at=T0))
        s.flush()
        ids = [pid for (pid,) in s.query(Provider.id).order_by(Provider.id)]
        for p in range(providers):
            verify(s, f"Provider {p}", [("asn", str(64500 + p))], now=T0, rules=AssetRules())
        for i in range(cases):
            p = i % providers
            text = f"http://host{i}.bench.example/path/{i}"
            uid = url_id(text)
            s.add(
                Url(
                    id=uid,
                    url=text,
                    scheme="http",
                    host=f"host{i}.bench.example",
                    host_type="domain",
                    first_seen_at=T0,
                )
            )
            s.flush()
            att = Attribution(
                url_id=uid,
                at=T0,
                computed_at=T0,
                status="ok",
                host=f"host{i}.bench.example",
                ip=f"10.{p}.{i // 250 % 250}.{i % 250}",
                origin_asn=64500 + p,
                provider_id=ids[p],
                country="NL",
            )
            s.add(att)
            s.flush()
            first = T0 + timedelta(hours=rng.random() * 24 * 60)
            removed = (
                first + timedelta(hours=rng.expovariate(1 / 30)) if rng.random() < 0.7 else None
            )
            c = Case(
                url_id=uid,
                party_key=f"provider:{ids[p]}",
                provider_id=ids[p],
                attribution_id=att.id,
                state="removed" if removed else "reachable",
                state_since=removed or first,
                opened_at=first,
                first_message_at=first,
                removed_at=removed,
                classification="csam",
            )
            s.add(c)
            if i % 1000 == 999:
                s.flush()
        s.flush()
        case_ids = [cid for (cid,) in s.query(Case.id)]
        for cid, pid in s.query(Case.id, Case.provider_id):
            by_provider.setdefault(ids.index(pid), []).append(cid)
        tokens["analyst"] = create_token(s, role="analyst", now=T0).token
        tokens["researcher"] = create_token(s, role="researcher", now=T0).token
        tokens["providers"] = [
            create_token(s, role="provider", provider_name=f"Provider {p}", now=T0).token
            for p in range(providers)
        ]
    tokens["cases"] = case_ids
    tokens["by_provider"] = [by_provider.get(p, []) for p in range(providers)]
    return tokens


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(url: str, tmp: Path, workers: int | None) -> tuple[subprocess.Popen[bytes], str]:
    import httpx

    port = free_port()
    env = {
        **os.environ,
        "HOSTWATCH_DATABASE_URL": url,
        "HOSTWATCH_STATE_DIR": str(tmp / "state"),
        "HOSTWATCH_CONFIG": str(tmp / "absent.toml"),
    }
    log = open(tmp / "serve.log", "wb")  # noqa: SIM115 - the server writes to it until killed
    proc = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "hostwatch"),
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            *(["--workers", str(workers)] if workers else []),
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                settle(proc.pid)
                return proc, base
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("server did not start: " + (tmp / "serve.log").read_text())


def settle(pid: int, quiet: float = 1.0, limit: float = 120) -> None:
    """Wait until the server and every worker are idle: started, not importing any more.

    ``/healthz`` answers as soon as one worker is up; on a loaded machine the second one was still
    importing the app for the first 10-20 s of a 30 s run, which measured one worker, not the
    server.
    """
    deadline = time.monotonic() + limit
    last = cpu_seconds(pid)
    while time.monotonic() < deadline:
        time.sleep(quiet)
        now = cpu_seconds(pid)
        if now - last < 0.05 * quiet:
            return
        last = now


async def client(
    session,
    base: str,
    data: dict,
    until: float,
    lat: list[float],  # type: ignore[no-untyped-def]
    errors: list[str],
    rng: random.Random,
) -> None:
    etags: dict[str, str] = {}
    analyst = {"Authorization": f"Bearer {data['analyst']}"}
    researcher = {"Authorization": f"Bearer {data['researcher']}"}
    while time.perf_counter() < until:
        provider = {"Authorization": f"Bearer {rng.choice(data['providers'])}"}
        pick = rng.random()
        if pick < 0.25:
            path, headers = f"/api/v1/cases?limit=50&cursor={rng.choice(data['cases'])}", analyst
        elif pick < 0.50:
            path, headers = "/api/v1/cases?limit=100", provider
        elif pick < 0.65:
            path, headers = f"/api/v1/cases/{rng.choice(data['cases'])}", analyst
        elif pick < 0.80:
            path, headers = "/api/v1/feed", provider
        elif pick < 0.90:
            path, headers = "/api/v1/cases?state=removed&limit=20", researcher
        else:
            path, headers = "/api/v1/providers", analyst
        if path in etags and rng.random() < 0.5:
            headers = {**headers, "If-None-Match": etags[path]}
        start = time.perf_counter()
        try:
            async with session.get(base + path, headers=headers) as r:
                await r.read()
                if r.status not in (200, 304):
                    errors.append(f"{r.status} {path}")
                elif "etag" in r.headers:
                    etags[path] = r.headers["etag"]
        except Exception as exc:
            errors.append(f"{type(exc).__name__} {path}")
        lat.append(time.perf_counter() - start)


async def load(base: str, data: dict, clients: int, seconds: float) -> None:
    import aiohttp

    lat: list[float] = []
    errors: list[str] = []
    connector = aiohttp.TCPConnector(limit=clients)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        start = time.perf_counter()
        until = start + seconds
        await asyncio.gather(
            *(
                client(session, base, data, until, lat, errors, random.Random(i))
                for i in range(clients)
            )
        )
        elapsed = time.perf_counter() - start
    lat.sort()
    q = statistics.quantiles(lat, n=100)
    print(
        f"load: {clients} clients, {elapsed:.1f} s, {len(lat)} requests, "
        f"{len(lat) / elapsed:.0f} req/s, p50 {q[49] * 1000:.1f} ms, p99 {q[98] * 1000:.1f} ms, "
        f"max {lat[-1] * 1000:.1f} ms, errors {len(errors)}"
    )
    if errors:
        print("  first errors:", errors[:5])


def _p(values: list[float], q: int) -> float:
    """The q-th percentile in ms (nearest rank)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))] * 1000


async def writes(base: str, data: dict, clients: int, seconds: float) -> None:
    """Provider acks and resolves from ``clients`` clients while /healthz is polled."""
    import aiohttp

    statuses: dict[str, int] = {}
    lat: list[float] = []
    health: list[float] = []
    health_failures: list[str] = []
    until = time.perf_counter() + seconds

    async def writer(session, rng: random.Random) -> None:  # type: ignore[no-untyped-def]
        p = rng.randrange(len(data["providers"]))
        headers = {"Authorization": f"Bearer {data['providers'][p]}"}
        cases = data["by_provider"][p]
        while time.perf_counter() < until:
            case = rng.choice(cases)
            action = rng.choice(("ack", "resolve"))
            body = {"note": "removed"} if action == "resolve" else None
            start = time.perf_counter()
            try:
                async with session.post(
                    f"{base}/api/v1/feed/cases/{case}/{action}", headers=headers, json=body
                ) as r:
                    await r.read()
                    key = str(r.status)
                    if r.status in (409, 429):
                        await asyncio.sleep(float(r.headers.get("Retry-After", "1")))
            except Exception as exc:
                key = type(exc).__name__
            statuses[key] = statuses.get(key, 0) + 1
            lat.append(time.perf_counter() - start)

    async def poll(session) -> None:  # type: ignore[no-untyped-def]
        while time.perf_counter() < until:
            start = time.perf_counter()
            try:
                async with session.get(f"{base}/healthz") as r:
                    await r.read()
                    if r.status != 200:
                        health_failures.append(str(r.status))
            except Exception as exc:
                health_failures.append(type(exc).__name__)
            health.append(time.perf_counter() - start)
            await asyncio.sleep(0.05)

    timeout = aiohttp.ClientTimeout(total=120)
    connector = aiohttp.TCPConnector(limit=clients)
    async with (
        aiohttp.ClientSession(connector=connector, timeout=timeout) as session,
        aiohttp.ClientSession(timeout=timeout) as monitor,
    ):
        start = time.perf_counter()
        await asyncio.gather(
            poll(monitor), *(writer(session, random.Random(i)) for i in range(clients))
        )
        elapsed = time.perf_counter() - start
    errors_5xx = sum(n for k, n in statuses.items() if k.isdigit() and int(k) >= 500)
    failed = sum(n for k, n in statuses.items() if not k.isdigit())
    print(
        f"writes: {clients} clients, {elapsed:.1f} s, {len(lat)} writes"
        f" ({len(lat) / elapsed:.0f}/s),"
        f" 5xx {errors_5xx}, connection errors {failed}, statuses {dict(sorted(statuses.items()))},"
        f" write p50 {_p(lat, 50):.0f} ms p99 {_p(lat, 99):.0f} ms"
    )
    print(
        f"  /healthz meanwhile: {len(health)} polls, p99 {_p(health, 99):.0f} ms,"
        f" max {max(health) * 1000:.0f} ms, failures {len(health_failures)}"
    )


async def reads(
    base: str, data: dict, clients: int, seconds: float, pid: int, warmup: float
) -> None:
    """Provider clients paging through their case list and reading their feed.

    The first ``warmup`` seconds are printed apart and not counted: each worker builds its
    routes' validators on its first requests and every answer is computed once before it can be
    kept, so those seconds measure the start, not the service. Besides latency it prints the CPU
    each request cost the server (its workers included) and this client: on a machine whose
    cores others share too, CPU per request is the figure that does not depend on the
    neighbours, and the client's share shows whether it is the bottleneck.
    """
    import aiohttp

    lat: list[float] = []
    cold: list[float] = []
    errors: list[str] = []
    measure_from = time.perf_counter() + warmup
    until = measure_from + seconds

    async def reader(session, rng: random.Random) -> None:  # type: ignore[no-untyped-def]
        headers = {"Authorization": f"Bearer {rng.choice(data['providers'])}"}
        cursors: dict[str, str | None] = {"/api/v1/cases": None, "/api/v1/feed": None}
        while time.perf_counter() < until:
            route = "/api/v1/cases" if rng.random() < 0.7 else "/api/v1/feed"
            cursor = cursors[route]
            path = f"{route}?limit=50" + (f"&cursor={cursor}" if cursor else "")
            start = time.perf_counter()
            try:
                async with session.get(base + path, headers=headers) as r:
                    await r.read()
                    if r.status != 200:
                        errors.append(f"{r.status} {path}")
                    cursors[route] = r.headers.get("X-Next-Cursor")
            except Exception as exc:
                errors.append(f"{type(exc).__name__} {path}")
            (lat if start >= measure_from else cold).append(time.perf_counter() - start)

    async def measure() -> tuple[float, float]:
        await asyncio.sleep(max(0.0, measure_from - time.perf_counter()))
        return cpu_seconds(pid), time.process_time()

    connector = aiohttp.TCPConnector(limit=clients)
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        started = asyncio.ensure_future(measure())
        await asyncio.gather(*(reader(session, random.Random(i)) for i in range(clients)))
        elapsed = time.perf_counter() - measure_from
        server_cpu, client_cpu = started.result()
        server_cpu, client_cpu = cpu_seconds(pid) - server_cpu, time.process_time() - client_cpu
    n = max(len(lat), 1)
    if cold:
        print(
            f"reads warm-up (first {warmup:.0f} s, not counted): {len(cold)} requests,"
            f" p50 {_p(cold, 50):.0f} ms, p99 {_p(cold, 99):.0f} ms"
        )
    print(
        f"reads: {clients} provider clients (case list + feed, paged), {elapsed:.1f} s,"
        f" {len(lat)} requests, {len(lat) / elapsed:.0f} req/s, p50 {_p(lat, 50):.0f} ms,"
        f" p99 {_p(lat, 99):.0f} ms, errors {len(errors)}"
    )
    print(
        f"  CPU per request: server {server_cpu / n * 1000:.2f} ms"
        f" ({server_cpu / elapsed:.2f} cores), this client {client_cpu / n * 1000:.2f} ms"
        f" ({client_cpu / elapsed:.2f} cores); load average {os.getloadavg()[0]:.1f}"
        f" on {os.cpu_count()} cores"
    )
    if errors:
        print("  first errors:", errors[:5])


def audit_verify(url: str, tmp: Path) -> None:
    env = {
        **os.environ,
        "HOSTWATCH_DATABASE_URL": url,
        "HOSTWATCH_STATE_DIR": str(tmp / "state"),
        "HOSTWATCH_CONFIG": str(tmp / "absent.toml"),
    }
    done = subprocess.run(
        [str(Path(sys.executable).parent / "hostwatch"), "audit", "verify"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    verdict = (done.stdout.strip().splitlines() or [done.stderr.strip()])[-1]
    print(f"  audit verify afterwards: exit {done.returncode}: {verdict}")


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) used so far by the server process and its worker children."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(stat.parent.name) == pid or int(fields[1]) == pid:
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def rss_mb(pid: int) -> float:
    """Resident memory of the server process and its worker children, in MB."""
    total = 0.0
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(
                line.split(":", 1) for line in status.read_text().splitlines() if ":" in line
            )
        except OSError:
            continue
        if int(status.parent.name) == pid or int(fields.get("PPid", "0").strip()) == pid:
            total += int(fields.get("VmRSS", "0 kB").split()[0]) / 1024
    return total


def bulk(base: str, token: str, pid: int, n: int, tag: str) -> None:
    import httpx

    def body():  # type: ignore[no-untyped-def]
        yield b"url,time,reference\n"
        chunk = []
        for i in range(n):
            chunk.append(f"http://{tag}{i}.bulk.example/item/{i},2024-03-01T00:00:00Z,{tag}-{i}\n")
            if len(chunk) == 2000:
                yield "".join(chunk).encode()
                chunk = []
        if chunk:
            yield "".join(chunk).encode()

    samples: list[float] = []
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            samples.append(rss_mb(pid))
            time.sleep(0.05)

    before = rss_mb(pid)
    watcher = threading.Thread(target=sample)
    watcher.start()
    start = time.perf_counter()
    r = httpx.post(
        base + "/api/v1/notices/bulk?format=csv&source=bench",
        headers={"Authorization": f"Bearer {token}"},
        content=body(),
        timeout=600,
    )
    elapsed = time.perf_counter() - start
    stop.set()
    watcher.join()
    got = r.json()
    size_mb = (
        sum(
            len(f"http://{tag}{i}.bulk.example/item/{i},2024-03-01T00:00:00Z,{tag}-{i}\n")
            for i in range(n)
        )
        / 1e6
    )
    print(
        f"bulk {n} notices ({size_mb:.1f} MB body): HTTP {r.status_code}, accepted "
        f"{got.get('accepted')}, {elapsed:.1f} s ({n / elapsed:.0f} notices/s); server RSS "
        f"before {before:.0f} MB, peak {max(samples):.0f} MB (+{max(samples) - before:.0f} MB)"
    )


def run_on(url: str, label: str, args: argparse.Namespace) -> None:
    data = populate(url, args.providers, args.cases)
    workers = args.workers or f"serve's default ({len(os.sched_getaffinity(0))})"
    print(f"== {label}: {args.providers} providers, {args.cases} cases, {workers} worker(s)")
    with TemporaryDirectory() as tmp:
        proc, base = start_server(url, Path(tmp), args.workers)
        try:
            if args.write_seconds > 0:
                asyncio.run(writes(base, data, args.writers, args.write_seconds))
                audit_verify(url, Path(tmp))
            if args.read_seconds > 0:
                asyncio.run(
                    reads(base, data, args.readers, args.read_seconds, proc.pid, args.warmup)
                )
            if args.seconds > 0:
                asyncio.run(load(base, data, args.clients, args.seconds))
            if args.bulk:
                bulk(base, str(data["analyst"]), proc.pid, args.bulk // 10, "small")
                bulk(base, str(data["analyst"]), proc.pid, args.bulk, "large")
        finally:
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=0)
    parser.add_argument("--writers", type=int, default=100)
    parser.add_argument("--write-seconds", type=float, default=30)
    parser.add_argument("--readers", type=int, default=200)
    parser.add_argument("--read-seconds", type=float, default=30)
    parser.add_argument("--warmup", type=float, default=5, help="read seconds not counted")
    parser.add_argument("--providers", type=int, default=20)
    parser.add_argument("--cases", type=int, default=5000)
    parser.add_argument("--bulk", type=int, default=0)
    parser.add_argument("--workers", type=int, default=None, help="default: serve's own")
    args = parser.parse_args()
    if args.db in ("sqlite", "both"):
        with TemporaryDirectory() as folder:
            url = f"sqlite:///{Path(folder) / 'bench.db'}"
            try:
                run_on(url, "SQLite", args)
            finally:
                from hostwatch.model.db import engine_for

                engine_for(url).dispose()
    if args.db in ("postgres", "both"):
        name = f"hw_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        url = f"{PG}/{name}"
        try:
            run_on(url, "PostgreSQL", args)
        finally:
            from hostwatch.model.db import engine_for

            engine_for(url).dispose()
            with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
