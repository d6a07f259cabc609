"""The audit log at scale: how long a full verify and a verify against a head take.

    .venv/bin/python bench/audit.py [--events 1000000] [--postgres]

Fills a fresh SQLite file (or PostgreSQL database) with N audit events as ``record`` would
leave them (leaf hashes, seq, the tree row), signs a head at N/2, then times ``verify_log``
without a head (O(log n) memory) and against the head (consistency proof: O(n) leaf hashes), and
prints events/s and the peak memory of each. Also times ``record`` for appends in one
transaction and in one transaction each.
"""

from __future__ import annotations

import argparse
import os
import resource
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from tempfile import TemporaryDirectory

T0 = datetime(2024, 3, 1, tzinfo=UTC)
PG = os.environ.get("HOSTWATCH_TEST_PG", "postgresql://postgres@127.0.0.1:5432")


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args()

    from hostwatch.model.audit import record
    from hostwatch.model.audit_heads import HeadKey, sign_head
    from hostwatch.model.audit_verify import verify_log
    from hostwatch.model.db import migrate, session_scope

    with TemporaryDirectory() as tmp:
        if args.postgres:
            import psycopg

            name = f"hw_bench_audit_{uuid.uuid4().hex[:8]}"
            with psycopg.connect(f"{PG}/postgres", autocommit=True) as c:
                c.execute(f'CREATE DATABASE "{name}"')
            url = f"{PG}/{name}"
        else:
            url = f"sqlite:///{Path(tmp) / 'audit.db'}"
        try:
            migrate(url)
            tick = time.perf_counter()
            half = args.events // 2
            fill(url, 0, half)
            key = HeadKey.generate(Path(tmp) / "key.pem")
            with session_scope(url) as s:
                head = sign_head(s, key, T0)
            assert head.tree_size == half
            fill(url, half, args.events - half)
            print(f"filled {args.events:,} events in {time.perf_counter() - tick:.1f} s")

            base = peak_mb()
            for label, against in (("audit verify", None), ("audit verify --head", head)):
                tick, cpu = time.perf_counter(), time.process_time()
                with session_scope(url) as s:
                    check = verify_log(s, key, against)
                took, cpu = time.perf_counter() - tick, time.process_time() - cpu
                assert check.intact and check.tree_size == args.events, check.problems[:3]
                print(
                    f"{label:20} {took:6.1f} s wall, {cpu:6.1f} s CPU "
                    f"({args.events / cpu:,.0f} events per CPU second), "
                    f"peak RSS {peak_mb():.0f} MB (before {base:.0f} MB)"
                )
            for per_tx in (1000, 1):
                tick = time.perf_counter()
                appends = 2000
                for start in range(0, appends, per_tx):
                    with session_scope(url) as s:
                        for i in range(start, start + per_tx):
                            record(s, at=T0, actor="b", action="x", object_type="case", object_id=i)
                took = time.perf_counter() - tick
                print(f"record, {per_tx:4} per transaction: {appends / took:8,.0f} appends/s")
        finally:
            if args.postgres:
                from hostwatch.model.db import engine_for

                engine_for(url).dispose()
                with psycopg.connect(f"{PG}/postgres", autocommit=True) as c:
                    c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def fill(url: str, first: int, count: int) -> None:
    """Events ``first`` .. ``first + count - 1``, continuing the stored tree."""
    from sqlalchemy import insert

    from hostwatch.model import AuditEvent, AuditTree
    from hostwatch.model.audit import event_bytes
    from hostwatch.model.db import session_scope
    from hostwatch.model.merkle import leaf_hash

    with session_scope(url) as s:
        row = s.get(AuditTree, 1)
        assert row is not None
        tree = row.compact()
        batch = []
        for i in range(first, first + count):
            at = T0 + timedelta(seconds=i)
            data = {"to": "notified", "level": i % 5}
            fields = (at, "workflow", "case.state", "case", str(i), f"step {i}", data)
            leaf = leaf_hash(event_bytes(*fields))
            tree.append(leaf)
            batch.append(
                {
                    "seq": i,
                    "at": at,
                    "actor": "workflow",
                    "action": "case.state",
                    "object_type": "case",
                    "object_id": str(i),
                    "reason": f"step {i}",
                    "data": data,
                    "hash": leaf.hex(),
                }
            )
            if len(batch) == 20_000:
                s.execute(insert(AuditEvent), batch)
                batch.clear()
        if batch:
            s.execute(insert(AuditEvent), batch)
        row.store(tree)


if __name__ == "__main__":
    main()
