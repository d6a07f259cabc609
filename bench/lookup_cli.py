"""One lookup of one address as a whole process: ``hostwatch lookup`` after ``data import``,
beside pyasn loading the same table in its own process (the target of issue 14, item 8).

Prints, per table, the medians over ``--runs`` runs of wall time, CPU time (user + system) and
peak resident memory of each process, side by side with the ratio hostwatch / pyasn. The tables:
the 2014 pyasn table (02 ``ipasn_20140513.dat.gz``) and the 2026 AS-Prefix table (08
``asprefix_pfx2as.tsv.gz``; pyasn cannot read its header line, so pyasn reads a copy without it).

    .venv/bin/python bench/lookup_cli.py [--runs 9] [--address 8.8.8.8]

Both kinds of process run in turn, so a busy machine slows both alike; the import (once per
table) is timed too. Data come from HOSTWATCH_TEST_DATA (default ../shared/data).

Measured 2026-12-07 with ``--runs 15`` on the shared 2-core machine (load average about 13, so
the absolute times are inflated; the ratios come from the same runs):

    table           process    wall s   cpu s  peak MB
    2014 pyasn      hostwatch   0.366   0.111     24.7
    2014 pyasn      pyasn       0.909   0.289     99.7
    2014 pyasn      ratio        0.40    0.38     0.25
    2026 AS-Prefix  hostwatch   0.370   0.144     27.4
    2026 AS-Prefix  pyasn       2.096   0.765    257.1
    2026 AS-Prefix  ratio        0.18    0.19     0.11

Before (same bench, previous session): 2014 table 0.61 s against pyasn's 0.45 s (1.36x), memory
0.55x; the rest was imports: typer's pydantic coercion, the settings model and NumPy, none of
which a plain lookup of a few addresses now loads (src/hostwatch/cli/commands/lookup.py,
src/hostwatch/net/routing/mapped.py).
"""

from __future__ import annotations

import argparse
import gzip
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("HOSTWATCH_TEST_DATA", REPO.parent / "shared" / "data"))
TABLES = {
    "2014 pyasn": DATA / "02_pyasn-routeviews-ipasn/ipasn_20140513.dat.gz",
    "2026 AS-Prefix": DATA
    / "08_asn-names-classes-prefixes-2026/as-prefix_2026-06-19/asprefix_pfx2as.tsv.gz",
}
HOSTWATCH = Path(sys.executable).parent / "hostwatch"
PYASN_LOOKUP = "import pyasn, sys; print(pyasn.pyasn(sys.argv[1]).lookup(sys.argv[2]))"


@dataclass(frozen=True)
class Run:
    wall: float
    cpu: float
    peak_mb: float


def measure(command: list[str], env: dict[str, str]) -> Run:
    """Run a process to its end; wall time, its CPU time and its peak RSS (from wait4)."""
    start = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        error = process.stderr.read().decode() if process.stderr else ""
        raise SystemExit(f"{' '.join(command)} failed: {error}")
    if process.stderr:
        process.stderr.close()
    return Run(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)


def pyasn_copy(source: Path, folder: Path) -> Path:
    """The table as pyasn reads it: the same rows, without a header line pyasn cannot parse."""
    with gzip.open(source, "rt") as handle:
        first = handle.readline()
        if "/" in first.split("\t")[0]:
            return source
        target = folder / (source.name.replace(".tsv.gz", ".dat.gz"))
        with gzip.open(target, "wt", compresslevel=1) as out:
            for line in handle:
                out.write(line)
    return target


def answer(command: list[str], env: dict[str, str]) -> str:
    return subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--address", default="8.8.8.8")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        env = {
            **os.environ,
            "HOSTWATCH_STATE_DIR": str(folder / "state"),
            "HOSTWATCH_DATABASE_URL": f"sqlite:///{folder / 'hostwatch.db'}",
        }
        ips = folder / "ips.txt"
        ips.write_text(args.address + "\n")
        rows = []
        for label, source in TABLES.items():
            start = time.perf_counter()
            imported = subprocess.run(
                [str(HOSTWATCH), "data", "import", str(source)],
                env=env,
                capture_output=True,
                text=True,
            )
            if imported.returncode:
                raise SystemExit(f"import of {source} failed: {imported.stdout}{imported.stderr}")
            print(f"{label}: data import took {time.perf_counter() - start:.1f} s")
            ours = [str(HOSTWATCH), "lookup", "--table", source.name, str(ips)]
            theirs = [sys.executable, "-c", PYASN_LOOKUP, str(pyasn_copy(source, folder))]
            theirs.append(args.address)
            print(f"  hostwatch: {answer(ours, env).splitlines()[-1]}")
            print(f"  pyasn:     {answer(theirs, env).strip()}")
            runs: dict[str, list[Run]] = {"hostwatch": [], "pyasn": []}
            for _ in range(args.runs):
                runs["hostwatch"].append(measure(ours, env))
                runs["pyasn"].append(measure(theirs, env))
            rows.append((label, runs))
    print()
    print(f"medians of {args.runs} runs, one address, whole process")
    header = f"{'table':<16}{'':<11}{'wall s':>8}{'cpu s':>8}{'peak MB':>9}"
    print(header)
    for label, runs in rows:
        med = {
            who: Run(*(statistics.median(getattr(r, f) for r in rs) for f in Run.__annotations__))
            for who, rs in runs.items()
        }
        for who in ("hostwatch", "pyasn"):
            m = med[who]
            print(f"{label:<16}{who:<11}{m.wall:>8.3f}{m.cpu:>8.3f}{m.peak_mb:>9.1f}")
        ratio = {
            f: getattr(med["hostwatch"], f) / getattr(med["pyasn"], f) for f in Run.__annotations__
        }
        print(
            f"{label:<16}{'ratio':<11}{ratio['wall']:>8.2f}{ratio['cpu']:>8.2f}"
            f"{ratio['peak_mb']:>9.2f}"
        )


if __name__ == "__main__":
    main()
