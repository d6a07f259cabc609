"""The simulated year's report in both editions and both languages, written once per session
(with PDFs): the content, PDF and browser tests look at the same files. It carries the parts a
report from a database has (who is responsible, reachability of abuse desks), made from the
simulated episodes, so that every edition rule is checked on those sections too."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import polars as pl
import pytest

from hostwatch.metrics.ownership import ownership_report
from hostwatch.metrics.reachability import COLUMNS
from hostwatch.metrics.synthetic import synthetic_world
from hostwatch.report.build import ReportFiles, ReportOptions, write_report

PERSON = "Jan de Vries"
"""A natural person as reseller: counted, never named in the public edition."""
MIN_CASES = 40


@dataclass
class Written:
    frame: pl.DataFrame
    small: list[str]
    """Providers below MIN_CASES: grouped in the public edition."""
    big: str
    person: str
    min_cases: int
    files: dict[tuple[str, str], ReportFiles]
    reachability: dict[str, Any]


def parties_of(frame: pl.DataFrame) -> dict[int, list[dict[str, Any]]]:
    """Each URL's chain as attribution stores it: the provider holds the network, the reseller
    (a natural person where the frame says PERSON) sits below it, every third URL has a customer,
    a natural person for every seventh."""
    chains: dict[int, list[dict[str, Any]]] = {}
    for row in frame.unique("url_id", keep="first").iter_rows(named=True):
        url_id = row["url_id"]
        chain = [
            {
                "level": "network-holder",
                "name": row["provider"],
                "country": "NL" if url_id % 4 else "DE",
                "kind": "organisation",
            }
        ]
        if row["reseller"] is not None:
            chain.append(
                {
                    "level": "reseller",
                    "name": row["reseller"],
                    "country": "CY" if url_id % 3 else None,
                    "kind": "natural-person" if row["reseller"] == PERSON else "organisation",
                }
            )
        if url_id % 3 == 0:
            person = url_id % 7 == 0
            chain.append(
                {
                    "level": "customer",
                    "name": "private individual" if person else f"Customer {url_id} Ltd",
                    "country": "NL",
                    "kind": "natural-person" if person else "unknown",
                }
            )
        chains[url_id] = chain
    return chains


def reachability_of(frame: pl.DataFrame) -> dict[str, Any]:
    """A reachability document with one desk per provider, its counts from its case count; some
    first responses take days."""
    counts = frame.group_by("provider").len().sort("provider").iter_rows()
    rows = []
    for i, (provider, n) in enumerate(counts):
        notified = n - n // 8
        answered = notified // 2
        rows.append(
            {
                "provider_id": i + 1,
                "provider": provider,
                "messages": n,
                "delivered": notified,
                "bounced": n // 8,
                "mailbox_full": n // 16,
                "failed": n // 20,
                "webhook_attempts": i % 3,
                "webhook_failures": (i % 3) // 2,
                "no_abuse_contact": i % 4,
                "notified_cases": notified,
                "answered_cases": answered,
                "first_response_hours": 0.5 + 7.3 * (i % 20) if answered else None,
                "first_response_hours_min": 0.25 if answered else None,
                "first_response_hours_max": 200.0 if answered else None,
            }
        )
    totals = {name: sum(r[name] for r in rows) for name in COLUMNS[2:12]}
    return {"providers": rows, "totals": totals}


@pytest.fixture(scope="session")
def editions(tmp_path_factory: pytest.TempPathFactory) -> Written:
    world = synthetic_world(5000, n_providers=60, seed=5)
    frame = world.frame.with_columns(
        reseller=pl.when(pl.col("row_id") % 5 == 0)
        .then(pl.lit(PERSON))
        .otherwise(pl.col("reseller"))
    )
    counts = frame.group_by("provider").len().sort("len", descending=True)
    small = counts.filter(pl.col("len") < MIN_CASES)["provider"].to_list()
    assert small, "the simulated world needs providers below the minimum"
    big = counts["provider"][0]
    previous = synthetic_world(4000, n_providers=60, seed=6).frame
    replies = [
        {
            "provider": big,
            "period": "2024",
            "text": "We act within the hour. <script>alert(1)</script>",
            "entered_at": datetime(2025, 2, 1, tzinfo=UTC),
            "entered_by": None,
        },
        {
            "provider": small[0],
            "period": "2024",
            "text": "A small provider's reply.",
            "entered_at": datetime(2025, 2, 2, tzinfo=UTC),
            "entered_by": None,
        },
    ]
    ownership = ownership_report(frame, parties_of(frame), "NL")
    reachability = reachability_of(frame)
    out = tmp_path_factory.mktemp("editions")
    files = {}
    for edition in ("public", "restricted"):
        for lang in ("en", "nl"):
            options = ReportOptions(
                sizes=world.sizes,
                simulated=True,
                period_label="2024",
                previous_label="2023",
                edition=edition,
                lang=lang,
                min_cases=MIN_CASES,
                publisher="Test hotline",
                replies=replies,
                ownership=ownership,
                reachability=reachability,
                generated_at=datetime(2025, 1, 2, 9, 30, tzinfo=UTC),
            )
            files[edition, lang] = write_report(
                frame, out / f"{edition}-{lang}", options, pdf=True, previous=previous
            )
    return Written(frame, small, big, PERSON, MIN_CASES, files, reachability)
