"""Benchmark: metrics and the monitor report for 1,000,000 cases, the DB -> frame step, and the
report from the real takedown histories (PhishTank 2018-2019, URLhaus 2019-2022).

Targets (issue 5): metrics + full HTML report for 1M cases < 20 s, PDF < 60 s, on 2 cores.
Peer measured in the same run: lifelines' Kaplan-Meier (1M right-censored times) against the
Kaplan-Meier curves of hostwatch.metrics.bounds on the same input.

Usage: .venv/bin/python bench/report.py [--cases 1000000] [--db-cases 100000] [--out DIR]
       [--skip-real] [--repeat 1]
Reads the real data from HOSTWATCH_TEST_DATA (default ../shared/data).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

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


def _realistic_database(url: str, n_cases: int) -> int:
    """Cases with messages, deliveries and a check every 6 h until 3 failed checks; returns rows."""
    from sqlalchemy import insert

    from hostwatch.metrics.synthetic import synthetic_world
    from hostwatch.model.case import Case
    from hostwatch.model.check import Check
    from hostwatch.model.db import engine_for, migrate
    from hostwatch.model.message import Delivery, Message, MessageCase
    from hostwatch.model.notice import Notice
    from hostwatch.model.party import Provider
    from hostwatch.model.url import Url

    migrate(url)
    world = synthetic_world(n_cases, n_providers=300, seed=11)
    f = world.frame
    now = datetime(2025, 1, 2, tzinfo=UTC)
    names = sorted(set(f["provider"].to_list()))
    pid = {name: i + 1 for i, name in enumerate(names)}
    rows = 0
    engine = engine_for(url)
    with engine.begin() as conn:
        conn.execute(
            insert(Provider),
            [{"id": pid[n], "name": n, "created_at": now, "updated_at": now} for n in names],
        )
        urls, notices, cases, messages, links, deliveries, checks = [], [], [], [], [], [], []
        for r in f.iter_rows(named=True):
            cid = r["case_id"]
            notice_at = r["notice_at"]
            start = r["start_at"]
            urls.append(
                {
                    "id": cid,
                    "url": r["url"],
                    "scheme": "http",
                    "host": r["host"],
                    "host_type": "domain",
                    "registered_domain": r["registered_domain"],
                    "first_seen_at": notice_at,
                }
            )
            notices.append(
                {
                    "id": cid,
                    "notice_key": f"k{cid}",
                    "url_id": cid,
                    "source": "bench",
                    "format": "csv",
                    "received_at": notice_at,
                    "raw": "",
                }
            )
            cases.append(
                {
                    "id": cid,
                    "url_id": cid,
                    "party_key": str(pid[r["provider"]]),
                    "provider_id": pid[r["provider"]],
                    "reseller": r["reseller"],
                    "country": r["country"],
                    "state": "notified",
                    "state_since": start,
                    "opened_at": notice_at,
                }
            )
            messages.append(
                {
                    "id": cid,
                    "ticket": f"T{cid}",
                    "to_address": "abuse@x.invalid",
                    "kind": "notice",
                    "subject": "",
                    "body": "",
                    "message_id_header": f"<{cid}@bench>",
                    "created_at": start,
                }
            )
            links.append({"message_id": cid, "case_id": cid})
            deliveries.append(
                {"message_id": cid, "attempted_at": start, "transport": "outbox", "outcome": "sent"}
            )
            left, right = r["left_hours"], r["right_hours"]
            seen = [*np.arange(0.0, left, 6.0)[:400].tolist(), left]
            for hours in seen:
                checks.append(
                    {
                        "url_id": cid,
                        "case_id": cid,
                        "outcome": "ok",
                        "online": True,
                        "checked_at": start + timedelta(hours=hours),
                    }
                )
            if np.isfinite(right):
                for j in range(3):
                    checks.append(
                        {
                            "url_id": cid,
                            "case_id": cid,
                            "outcome": "dns-fail",
                            "online": False,
                            "checked_at": start + timedelta(hours=right + j),
                        }
                    )
        for model, batch in (
            (Url, urls),
            (Notice, notices),
            (Case, cases),
            (Message, messages),
            (MessageCase, links),
            (Delivery, deliveries),
            (Check, checks),
        ):
            for i in range(0, len(batch), 50_000):
                conn.execute(insert(model), batch[i : i + 50_000])
            rows += len(batch)
    return rows


def database_frame(n_cases: int) -> None:
    from hostwatch.metrics.frame import load_frame
    from hostwatch.metrics.period import parse_period

    print(f"\ndatabase -> frame: {n_cases:,} cases (SQLite)")
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        start = time.perf_counter()
        rows = _realistic_database(url, n_cases)
        _clock(f"build the database ({rows:,} rows, not counted)", start)
        times = []
        for _ in range(3):
            start = time.perf_counter()
            frame = load_frame(url, parse_period("2024"))
            times.append(time.perf_counter() - start)
        per_million = statistics.median(times) * 1_000_000 / max(frame.height, 1)
        print(
            f"  frame of {frame.height:,} episodes: median {statistics.median(times):.2f} s "
            f"(3 runs) = {per_million:.1f} s per million cases"
        )


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
    parser.add_argument("--db-cases", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "hw-bench")
    parser.add_argument("--skip-real", action="store_true")
    args = parser.parse_args()
    data = Path(os.environ.get("HOSTWATCH_TEST_DATA", REPO.parent / "shared" / "data"))
    print(f"cores: {os.cpu_count()}, python {sys.version.split()[0]}, output {args.out}")
    warm_imports()
    synthetic_report(args.cases, args.out, args.repeat)
    if args.db_cases:
        database_frame(args.db_cases)
    if not args.skip_real:
        real_reports(data, args.out)


if __name__ == "__main__":
    main()
