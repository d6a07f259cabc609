"""Benchmark: metrics and the monitor report for 1,000,000 cases, in memory and from SQLite and
PostgreSQL, and the report from the real takedown histories (PhishTank 2018-2019, URLhaus
2019-2022).

Targets (issues 5 and 18): metrics + full HTML report for 1M cases < 20 s, PDF < 60 s, on 2
cores, both from a frame in memory and from the database (the same cases bulk-loaded into
SQLite and PostgreSQL: a check every 6 h while online, three failed checks once removed;
printed: DB -> frame, DB -> HTML, DB -> HTML + PDF beside the in-memory figures).
Peer measured in the same run: lifelines' Kaplan-Meier (1M right-censored times) against the
Kaplan-Meier curves of hostwatch.metrics.bounds on the same input.

Usage: .venv/bin/python bench/report.py [--cases 1000000] [--db-cases 1000000] [--out DIR]
       [--skip-real] [--skip-memory] [--databases sqlite,postgresql] [--repeat 1]
Reads the real data from HOSTWATCH_TEST_DATA (default ../shared/data).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

REPO = Path(__file__).resolve().parent.parent


def _clock(label: str, start: float) -> float:
    elapsed = time.perf_counter() - start
    print(f"  {label:<44} {elapsed:8.2f} s", flush=True)
    return elapsed


def warm_imports() -> None:
    start = time.perf_counter()
    import jinja2  # noqa: F401
    import matplotlib.pyplot  # noqa: F401
    import scipy.optimize  # noqa: F401
    import statsmodels.discrete.discrete_model  # noqa: F401
    import weasyprint  # noqa: F401

    _clock("library imports (not counted below)", start)


def synthetic_report(n_cases: int, out: Path, repeat: int) -> None:
    from hostwatch.metrics.synthetic import synthetic_world
    from hostwatch.report.build import ReportOptions, write_report

    print(f"\nsynthetic: {n_cases:,} cases")
    start = time.perf_counter()
    world = synthetic_world(n_cases, n_providers=1500)
    _clock("generate the frame (not counted)", start)
    html_times, pdf_times = [], []
    for run in range(repeat):
        options = ReportOptions(
            sizes=world.sizes,
            simulated=True,
            period_label="2024 (simulated)",
            sources=[f"{n_cases:,} simulated cases, 1,500 simulated providers"],
        )
        files = write_report(world.frame, out / f"synthetic-{run}", options, pdf=True)
        t = files.timings
        html_times.append(t["html_total"])
        pdf_times.append(t["pdf"])
        print(f"  run {run + 1}: " + ", ".join(f"{k} {v:.2f}s" for k, v in t.items()))
    print(
        f"  metrics + HTML report, median of {repeat}: {statistics.median(html_times):.2f} s "
        "(target < 20 s)"
    )
    print(
        f"  PDF (WeasyPrint), median of {repeat}:       {statistics.median(pdf_times):.2f} s "
        "(target < 60 s)"
    )
    flagged = world.bad_providers
    print(f"  simulated over-abusive providers: {len(flagged)}")

    peer_km(world.frame)


def peer_km(frame: pl.DataFrame) -> None:
    from lifelines import KaplanMeierFitter

    from hostwatch.metrics.bounds import fit_bounds

    durations = frame["left_hours"].to_numpy()
    observed = frame["removed"].to_numpy()
    right = np.where(observed, durations, np.inf)
    start = time.perf_counter()
    (ours,) = fit_bounds(durations, right)
    t_ours = time.perf_counter() - start
    start = time.perf_counter()
    theirs = KaplanMeierFitter().fit(durations, observed)
    t_theirs = time.perf_counter() - start
    grid = np.array([1.0, 12.0, 24.0, 48.0, 168.0])
    diff = np.abs(
        1.0 - ours.seen_offline.at(grid) - theirs.survival_function_at_times(grid).to_numpy()
    )
    print(
        f"  peer Kaplan-Meier on {len(durations):,} times: ours {t_ours:.2f} s, lifelines "
        f"{t_theirs:.2f} s, ratio {t_theirs / t_ours:.1f}x; max |dS| {diff.max():.1e}"
    )


def _world_tables(n_cases: int) -> tuple[Any, dict[str, pl.DataFrame]]:
    """The synthetic world as table rows: each case with its URL, notice, message, delivery,
    a check every 6 h while online (at most 400) and three failed checks once removed."""
    from hostwatch.metrics.synthetic import synthetic_world

    world = synthetic_world(n_cases, n_providers=300, seed=11)
    f = world.frame
    now = datetime(2025, 1, 2, tzinfo=UTC)
    names = sorted(set(f["provider"].to_list()))
    providers = pl.DataFrame({"id": range(1, len(names) + 1), "name": names}).with_columns(
        created_at=pl.lit(now), updated_at=pl.lit(now)
    )
    f = f.join(providers.select(pl.col("name").alias("provider"), pl.col("id").alias("pid")),
               on="provider")  # fmt: skip
    cid = pl.col("case_id")
    tables = {
        "providers": providers,
        "urls": f.select(
            cid.alias("id"),
            "url",
            scheme=pl.lit("http"),
            host="host",
            host_type=pl.lit("domain"),
            registered_domain="registered_domain",
            first_seen_at="notice_at",
        ),
        "notices": f.select(
            cid.alias("id"),
            notice_key=pl.format("k{}", cid),
            url_id=cid,
            source=pl.lit("bench"),
            format=pl.lit("csv"),
            received_at="notice_at",
            raw=pl.lit(""),
        ),
        "cases": f.select(
            cid.alias("id"),
            url_id=cid,
            party_key=pl.col("pid").cast(pl.Utf8),
            provider_id="pid",
            reseller="reseller",
            country="country",
            state=pl.lit("notified"),
            state_since="start_at",
            opened_at="notice_at",
        ),
        "messages": f.select(
            cid.alias("id"),
            ticket=pl.format("T{}", cid),
            to_address=pl.lit("abuse@x.invalid"),
            kind=pl.lit("notice"),
            subject=pl.lit(""),
            body=pl.lit(""),
            message_id_header=pl.format("<{}@bench>", cid),
            created_at="start_at",
        ),
        "message_cases": f.select(cid.alias("message_id"), case_id=cid),
        "deliveries": f.select(
            cid.alias("message_id"),
            attempted_at="start_at",
            transport=pl.lit("outbox"),
            outcome=pl.lit("sent"),
        ),
    }
    hours = pl.duration(microseconds=(pl.col("h") * 3.6e9).cast(pl.Int64))
    online = (
        f.select(cid, "start_at", "left_hours")
        .with_columns(
            k=pl.int_ranges(0, ((pl.col("left_hours") / 6.0).ceil().cast(pl.Int64)).clip(0, 400))
        )
        .explode("k")
        .drop_nulls("k")
        .select(cid, "start_at", h=pl.col("k") * 6.0)
    )
    last = f.select(cid, "start_at", h=pl.col("left_hours"))
    gone = (
        f.filter(pl.col("right_hours").is_finite())
        .select(cid, "start_at", "right_hours", j=pl.lit([0.0, 1.0, 2.0]))
        .explode("j")
        .select(cid, "start_at", h=pl.col("right_hours") + pl.col("j"))
    )
    checks = pl.concat(
        [
            online.with_columns(online=pl.lit(True), outcome=pl.lit("ok")),
            last.with_columns(online=pl.lit(True), outcome=pl.lit("ok")),
            gone.with_columns(online=pl.lit(False), outcome=pl.lit("dns-fail")),
        ]
    )
    tables["checks"] = checks.select(
        url_id=cid, case_id=cid, outcome="outcome", online="online",
        checked_at=pl.col("start_at") + hours,
    )  # fmt: skip
    return world, tables


def _bulk_fill(url: str, tables: dict[str, pl.DataFrame]) -> int:
    """Write the rows as a bulk load would: COPY on PostgreSQL (then VACUUM ANALYZE, as
    autovacuum would have by the time a report is made), Arrow ingest (ADBC) on SQLite.

    Columns the rows leave out get the model's default; instants are stored as SQLAlchemy
    stores them (SQLite: 'YYYY-MM-DD HH:MM:SS.ffffff' text). Returns the rows written.
    """
    from hostwatch.model import Base
    from hostwatch.model.db import migrate

    migrate(url)
    rows = 0
    for name, frame in tables.items():
        table = Base.metadata.tables[name]
        defaults = [
            pl.lit(column.default.arg).alias(column.name)  # type: ignore[union-attr]
            for column in table.columns
            if column.name not in frame.columns
            and column.default is not None
            and column.default.is_scalar  # type: ignore[union-attr]
        ]
        tables[name] = frame.with_columns(defaults)
        rows += frame.height
    if url.startswith("sqlite"):
        import adbc_driver_sqlite.dbapi

        with adbc_driver_sqlite.dbapi.connect(url.removeprefix("sqlite:///")) as conn:
            for name, frame in tables.items():
                stored = frame.with_columns(
                    pl.col(pl.Datetime).dt.strftime("%Y-%m-%d %H:%M:%S.%6f"),
                    pl.col(pl.Boolean).cast(pl.Int8),
                )
                with conn.cursor() as cursor:
                    cursor.adbc_ingest(name, stored.to_arrow(), mode="append")
            conn.commit()
        return rows
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        for name, frame in tables.items():
            columns = ", ".join(frame.columns)
            with conn.cursor().copy(f"COPY {name} ({columns}) FROM STDIN (FORMAT csv)") as copy:
                for start in range(0, frame.height, 500_000):
                    chunk = frame.slice(start, 500_000)
                    copy.write(chunk.write_csv(include_header=False, quote_style="non_numeric"))
            if "id" in frame.columns:  # the sequences go on after the ids written
                conn.execute(
                    f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                    f"(SELECT max(id) FROM {name}))"
                )
    # what autovacuum does to a database in use, done now: statistics for the planner and the
    # visibility map, without which no index-only scan (the frame reads ix_checks_histories)
    plain = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    return rows


def _pg_database() -> str | None:
    """A fresh PostgreSQL database on 127.0.0.1 (trust), or None when none answers."""
    import uuid

    import psycopg

    name = f"hw_bench_{uuid.uuid4().hex[:8]}"
    try:
        with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as c:
            c.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as exc:
        print(f"  PostgreSQL not reachable ({exc}); skipped")
        return None
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"


def _drop_pg(url: str) -> None:
    import psycopg

    from hostwatch.model.db import engine_for

    engine_for(url).dispose()
    name = url.rsplit("/", 1)[1]
    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def database_reports(n_cases: int, out: Path, repeat: int, kinds: list[str]) -> None:
    """Database -> frame, -> HTML report, -> PDF report, on SQLite and on PostgreSQL."""
    from hostwatch.metrics.frame import load_frame
    from hostwatch.metrics.period import parse_period
    from hostwatch.report.build import ReportOptions
    from hostwatch.report.source import report_from_database

    print(f"\ndatabase -> frame -> report: {n_cases:,} cases")
    start = time.perf_counter()
    world, tables = _world_tables(n_cases)
    _clock(f"rows for the tables ({sum(t.height for t in tables.values()):,}, not counted)", start)
    period = parse_period("2024")
    with tempfile.TemporaryDirectory() as tmp:
        for kind in kinds:
            url = f"sqlite:///{tmp}/bench.db" if kind == "sqlite" else _pg_database()
            if url is None:
                continue
            try:
                start = time.perf_counter()
                rows = _bulk_fill(url, dict(tables))
                _clock(f"{kind}: bulk fill, {rows:,} rows (not counted)", start)
                frames, htmls, pdfs = [], [], []
                for run in range(repeat):
                    start = time.perf_counter()
                    frame = load_frame(url, period)
                    frames.append(_clock(f"{kind}: DB -> frame ({frame.height:,})", start))
                    for pdf, times in ((False, htmls), (True, pdfs)):
                        options = ReportOptions(sizes=world.sizes, simulated=True)
                        start = time.perf_counter()
                        report_from_database(url, period, out / f"{kind}-{run}", options, pdf=pdf)
                        label = "DB -> HTML + PDF" if pdf else "DB -> HTML"
                        times.append(_clock(f"{kind}: {label}", start))
                print(
                    f"  {kind}: frame of {frame.height:,} episodes "
                    f"{statistics.median(frames):.2f} s, DB -> HTML "
                    f"{statistics.median(htmls):.2f} s (target < 20 s), DB -> HTML + PDF "
                    f"{statistics.median(pdfs):.2f} s (target < 60 s); median of {repeat}"
                )
            finally:
                if kind == "postgresql":
                    _drop_pg(url)


def _attributor(data: Path):  # type: ignore[no-untyped-def]
    """IPv4 -> (asn, name, country) from the 2026 prefix table and AS names (folder 08)."""
    import gzip

    import pyasn

    folder = next(data.glob("08_*"))
    start = time.perf_counter()
    lines = []
    with gzip.open(folder / "as-prefix_2026-06-19" / "asprefix_pfx2as.tsv.gz", "rt") as fh:
        next(fh)
        for line in fh:
            prefix, _, asn = line.rstrip("\n").partition("\t")
            if ":" not in prefix and asn.isdigit():
                lines.append(f"{prefix}\t{asn}")
    table = pyasn.pyasn(None, ipasn_string="\n".join(lines))
    names = pl.read_csv(
        folder / "as-prefix_2026-06-19" / "asprefix_asnames.tsv.gz",
        separator="\t",
        infer_schema_length=0,
        quote_char=None,
    )
    name_of = dict(
        zip(names[names.columns[0]].to_list(), names[names.columns[1]].to_list(), strict=True)
    )
    bgp = pl.read_csv(folder / "bgp.tools-opendb_2026-05-31" / "asns.csv.gz", infer_schema_length=0)
    cc_of = dict(zip(bgp["asn"].str.replace("AS", "").to_list(), bgp["cc"].to_list(), strict=True))
    _clock("load the 2026 routing table for attribution", start)

    def attribute(ip: str) -> tuple[int, str | None, str | None] | None:
        try:
            asn, _ = table.lookup(ip)
        except ValueError:
            return None
        if asn is None:
            return None
        key = str(asn)
        return int(asn), name_of.get(key) or name_of.get(f"AS{key}"), cc_of.get(key)

    return attribute


def real_reports(data: Path, out: Path) -> None:
    from hostwatch.metrics.histories import phishtank_frame, urlhaus_frame
    from hostwatch.metrics.takedown import figures, quantile_text
    from hostwatch.report.build import ReportOptions, write_report

    attribute = _attributor(data)
    pt = next(data.glob("04_*"))
    uh = next(data.glob("11_*"))
    jobs = [
        (
            "phishtank",
            "2018-10-25..2019-10-26",
            lambda: phishtank_frame(
                pt / "phish_lifetimes.csv.gz", pt / "snapshot_dates.csv", attribute=attribute
            ),
            "PhishTank online-valid daily snapshots 2018-10-25..2019-10-26 (folder 04). Only "
            "phish listed in at least one daily snapshot are present: removals before the next "
            "snapshot are missing (left truncation), so shares within 24 h are biased low.",
        ),
        (
            "urlhaus",
            "2019-06-13..2022-03-15",
            lambda: urlhaus_frame(
                uh / "urlhaus_filter_online_intervals.csv.gz",
                uh / "urlhaus_filter_snapshots.csv.gz",
                attribute=attribute,
            ),
            "URLhaus 'online' host list, 1,920 snapshots 2019-06..2022-03 (folder 11)",
        ),
    ]
    from hostwatch.metrics.period import parse_period

    for name, period_text, load, source in jobs:
        print(f"\nreal histories: {name}")
        start = time.perf_counter()
        frame = load()
        period = parse_period(period_text)
        frame = frame.filter(
            (pl.col("start_at") >= period.start) & (pl.col("start_at") < period.end)
        )
        _clock(f"read {frame.height:,} episodes", start)
        start = time.perf_counter()
        overall = figures(frame)
        _clock("overall takedown figures", start)
        print(
            f"  n {overall['n']:,}, seen offline within 24 h {overall['removed_within_24h']:.3f} "
            f"(up to {overall['removed_within_24h_upper']:.3f}), median "
            f"{quantile_text(overall, 'median')}, p90 {quantile_text(overall, 'p90')}"
        )
        options = ReportOptions(
            title=f"Takedown monitor on real feed histories: {name}",
            period_label=period_text,
            sources=[
                source,
                "Attribution of IPv4 hosts: 2026 prefix table and AS names "
                "(folder 08), later than the histories: an approximation.",
            ],
            snapshots=[
                {"kind": "routing", "name": "asprefix_pfx2as 2026-06-19", "valid_at": "2026-06-19"}
            ],
        )
        files = write_report(frame, out / name, options, pdf=True)
        print("  " + ", ".join(f"{k} {v:.2f}s" for k, v in files.timings.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--db-cases", type=int, default=1_000_000)
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--databases", default="sqlite,postgresql", help="comma-separated")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "hw-bench")
    parser.add_argument("--skip-real", action="store_true")
    args = parser.parse_args()
    data = Path(os.environ.get("HOSTWATCH_TEST_DATA", REPO.parent / "shared" / "data"))
    print(f"cores: {os.cpu_count()}, python {sys.version.split()[0]}, output {args.out}")
    warm_imports()
    if not args.skip_memory:
        synthetic_report(args.cases, args.out, args.repeat)
    if args.db_cases:
        database_reports(args.db_cases, args.out, args.repeat, args.databases.split(","))
    if not args.skip_real:
        real_reports(data, args.out)


if __name__ == "__main__":
    main()
