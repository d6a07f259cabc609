"""The simulated year's report in both editions and both languages, written once per session
(with PDFs): the content, PDF and browser tests look at the same files."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import polars as pl
import pytest

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
                generated_at=datetime(2025, 1, 2, 9, 30, tzinfo=UTC),
            )
            files[edition, lang] = write_report(
                frame, out / f"{edition}-{lang}", options, pdf=True, previous=previous
            )
    return Written(frame, small, big, PERSON, MIN_CASES, files)
