"""Who-is-responsible figures (issue 18) over a simulated year, beside the takedown table alone.

``metrics ownership`` is the reseller takedown table (the peer, measured in the same run) plus the
network holder beside each reseller and the nationality and kind counts per level of the chain.
The parties of each URL are made up the way attribution stores them (holder, reseller for 30 %,
customer; one customer in ten a natural person).

    .venv/bin/python bench/who_is_responsible.py [--n 1000000] [--runs 3]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np

from hostwatch.metrics.ownership import ownership_report
from hostwatch.metrics.synthetic import synthetic_world
from hostwatch.metrics.takedown import takedown_table


def median_seconds(action: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def parties_of(frame: object) -> dict[int, list[dict[str, object]]]:
    rng = np.random.default_rng(7)
    countries = ["NL", "DE", "US", "SC", "CY", None]
    out: dict[int, list[dict[str, object]]] = {}
    rows = frame.select("url_id", "provider", "reseller").unique("url_id").iter_rows()  # type: ignore[attr-defined]
    for url_id, provider, reseller in rows:
        picks = rng.integers(0, len(countries), 3)
        chain: list[dict[str, object]] = [
            {"level": "network-holder", "name": provider, "handle": provider,
             "country": countries[picks[0]], "kind": "organisation"}
        ]  # fmt: skip
        if reseller:
            chain.append({"level": "reseller", "name": reseller, "handle": reseller,
                          "country": countries[picks[1]], "kind": "organisation"})  # fmt: skip
        kind = "natural-person" if rng.random() < 0.1 else "unknown"
        chain.append({"level": "customer", "name": f"customer {url_id}", "handle": str(url_id),
                      "country": countries[picks[2]], "kind": kind})  # fmt: skip
        out[url_id] = chain
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    frame = synthetic_world(args.n).frame
    parties = parties_of(frame)
    full = median_seconds(lambda: ownership_report(frame, parties, "NL"), args.runs)
    peer = median_seconds(lambda: takedown_table(frame, "reseller"), args.runs)
    print(
        f"{frame.height:,} episodes: metrics ownership {full:.2f} s, "
        f"takedown table by reseller alone {peer:.2f} s (ratio {full / peer:.2f})"
    )


if __name__ == "__main__":
    main()
