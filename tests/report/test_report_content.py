"""The report as written: escaped, self-contained, with exports; from simulated and real data."""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl
import pytest

from hostwatch.metrics.histories import phishtank_frame, urlhaus_frame
from hostwatch.metrics.ownership import ownership_report
from hostwatch.metrics.period import parse_period
from hostwatch.metrics.synthetic import synthetic_world
from hostwatch.report.build import ReportOptions, write_report

from .conftest import parties_of, reachability_of

XSS_NAME = '<script>alert("name")</script>"><img src=x onerror=alert(2)>'
XSS_URL = "http://evil.example/<script>alert('url')</script>?q=\"><svg onload=alert(3)>"
FORMULA = '=HYPERLINK("http://evil.example","click")'


@pytest.fixture(scope="module")
def hostile_world():  # type: ignore[no-untyped-def]
    world = synthetic_world(3000, n_providers=40, seed=3)
    biggest = world.frame["provider"].value_counts(sort=True)["provider"][0]
    frame = world.frame.with_columns(
        provider=pl.when(pl.col("provider") == biggest)
        .then(pl.lit(XSS_NAME))
        .otherwise(pl.col("provider")),
        reseller=pl.when(pl.col("row_id") % 7 == 0)
        .then(pl.lit(FORMULA))
        .otherwise(pl.col("reseller")),
    )
    longest = frame["left_hours"].arg_max()
    frame = frame.with_columns(
        url=pl.when(pl.col("row_id") == longest).then(pl.lit(XSS_URL)).otherwise(pl.col("url"))
    )
    sizes = dict(world.sizes)
    sizes[XSS_NAME] = sizes.pop(biggest)
    return frame, sizes


@pytest.fixture(scope="module")
def hostile_report(hostile_world, tmp_path_factory):  # type: ignore[no-untyped-def]
    frame, sizes = hostile_world
    out = tmp_path_factory.mktemp("hostile")
    options = ReportOptions(
        # a hostile provider name is a network holder and a desk here too
        ownership=ownership_report(frame, parties_of(frame), "NL"),
        reachability=reachability_of(frame),
        sizes=sizes,
        simulated=True,
        edition="restricted",
        period_label="2024",
        pseudonym_key="k1",
    )
    files = write_report(frame, out, options, pdf=False)
    return files, files.html.read_text(encoding="utf-8")


def test_names_and_urls_are_escaped(hostile_report) -> None:  # type: ignore[no-untyped-def]
    _, html = hostile_report
    assert "<script" not in html
    assert "<img src=x" not in html and "<svg onload" not in html
    assert "&lt;script&gt;alert(&#34;name&#34;)&lt;/script&gt;" in html
    assert "&lt;script&gt;alert(&#39;url&#39;)&lt;/script&gt;" in html  # the slow-tail table
    for anchor in ("who-is-responsible", "reachability"):  # as holder and as desk
        section = html.split(f'<section id="{anchor}">', 1)[1].split("</section>", 1)[0]
        assert "&lt;script&gt;alert(&#34;name&#34;)&lt;/script&gt;" in section, anchor


def test_report_is_self_contained(hostile_report) -> None:  # type: ignore[no-untyped-def]
    _, html = hostile_report
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "@import" not in html and "url(http" not in html
    assert len(re.findall(r'<img[^>]+src="data:image/svg\+xml;base64,', html)) >= 6
    assert "default-src 'none'" in html


def test_report_shows_every_section_and_labels_simulation(hostile_report) -> None:  # type: ignore[no-untyped-def]
    _, html = hostile_report
    for anchor in (
        "summary",
        "providers",
        "fig-survival",
        "fig-buckets",
        "worst",
        "exposure",
        "fig-lorenz",
        "size",
        "fig-size",
        "trends",
        "fig-trend",
        "displacement",
        "who-is-responsible",
        "ownership-resellers",
        "data-quality",
        "reachability",
        "reachability-desks",
        "methods",
        "simulated",
    ):
        assert f'id="{anchor}"' in html, anchor
    assert "SIMULATED DATA" in html


def test_exports_are_spreadsheet_safe_and_pseudonymised(hostile_world, hostile_report) -> None:  # type: ignore[no-untyped-def]
    frame, _ = hostile_world
    files, _ = hostile_report
    full = pl.read_csv(files.cases_csv, infer_schema_length=0)
    assert full.height == frame.height
    assert (full["reseller"] == "'" + FORMULA).sum() > 0
    assert not full["reseller"].drop_nulls().str.starts_with("=").any()

    text = files.researcher_csv.read_text(encoding="utf-8")
    researcher = pl.read_csv(files.researcher_csv, infer_schema_length=0)
    assert "url" not in researcher.columns
    for value in (
        frame["host"].unique().head(50).to_list() + frame["ip"].unique().head(50).to_list()
    ):
        assert value not in text
    assert "evil.example" not in text
    assert researcher["host"].str.len_chars().eq(16).all()


def test_pseudonyms_are_stable_per_key(hostile_world, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from hostwatch.report.exports import write_researcher_csv

    frame, _ = hostile_world
    a = pl.read_csv(write_researcher_csv(frame, tmp_path / "a.csv", "k1"), infer_schema_length=0)
    b = pl.read_csv(write_researcher_csv(frame, tmp_path / "b.csv", "k1"), infer_schema_length=0)
    c = pl.read_csv(write_researcher_csv(frame, tmp_path / "c.csv", "k2"), infer_schema_length=0)
    assert a["host"].to_list() == b["host"].to_list()
    assert a["host"].to_list() != c["host"].to_list()
    # Same host -> same token, so researchers can still link episodes.
    assert a["host"].n_unique() == frame["host"].n_unique()


def test_empty_period_is_a_clear_error(hostile_world, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    frame, _ = hostile_world
    with pytest.raises(ValueError, match="no case episodes"):
        write_report(frame.head(0), tmp_path, ReportOptions(), pdf=False)


@pytest.mark.parametrize("history", ["phishtank", "urlhaus"])
def test_report_from_real_histories(shared_data: Path, tmp_path: Path, history: str) -> None:
    """A month of each real history, attributed where the host is an IP (toy attribution)."""

    def attribute(ip: str) -> tuple[int, str | None, str | None] | None:
        first = int(ip.split(".")[0])
        return (64500 + first % 7, f"NET-{first % 7} <b>", "NL" if first % 2 else "DE")

    if history == "phishtank":
        folder = next(shared_data.glob("04_*"))
        frame = phishtank_frame(
            folder / "phish_lifetimes.csv.gz", folder / "snapshot_dates.csv", attribute=attribute
        )
        period = parse_period("2019-03-01..2019-04-01")
    else:
        folder = next(shared_data.glob("11_*"))
        frame = urlhaus_frame(
            folder / "urlhaus_filter_online_intervals.csv.gz",
            folder / "urlhaus_filter_snapshots.csv.gz",
            attribute=attribute,
        )
        period = parse_period("2020-03-01..2020-04-01")
    frame = frame.filter((pl.col("start_at") >= period.start) & (pl.col("start_at") < period.end))
    assert frame.height > 1000
    assert (frame["clock_start"] != "message").all()
    options = ReportOptions(period_label=period.label, sources=[f"{history} (real feed history)"])
    files = write_report(frame, tmp_path, options, pdf=False)
    html = files.html.read_text(encoding="utf-8")
    assert "clock starts at the notice time" in html
    assert "AS645" in html and "NET-" in html and "&lt;b&gt;" in html
    assert "SIMULATED" not in html
    table = pl.read_csv(files.providers_csv)
    assert table["n"].sum() == frame.height
    shares = table["removed_within_24h"].drop_nulls()
    assert ((shares >= 0) & (shares <= 1)).all()


def test_report_says_not_identified_where_the_records_say_little(
    shared_data: Path, tmp_path: Path
) -> None:
    """URLhaus without its snapshot table: each episode is only "first seen online, first seen
    absent". The report gives the share seen offline and a bracketed median, never "100 % within
    1 h" and never the earliest possible time as the median."""
    folder = next(shared_data.glob("11_*"))
    frame = urlhaus_frame(folder / "urlhaus_filter_online_intervals.csv.gz", None)
    period = parse_period("2020-03-01..2020-04-01")
    frame = frame.filter((pl.col("start_at") >= period.start) & (pl.col("start_at") < period.end))
    options = ReportOptions(period_label=period.label, sources=["urlhaus without snapshots"])
    files = write_report(frame, tmp_path, options, pdf=False)
    html = files.html.read_text(encoding="utf-8")
    summary = html[html.index('id="summary"') : html.index('id="providers"')]
    assert "not identified (0.0\u00a0h – " in summary  # number and unit never split
    assert "up to 100.0%" in summary  # the upper bound stands beside the headline
    seen = float((frame["right_hours"] <= 24.0).mean())  # type: ignore[arg-type]
    headline = re.search(r'<div class="value">([0-9.]+)%</div><div class="label">seen offline '
                         r"within 24\u00a0h", summary)  # fmt: skip
    assert headline is not None and abs(float(headline.group(1)) / 100 - seen) < 0.02
    quality = html[html.index('id="data-quality"') : html.index('id="methods"')]
    assert "from feed histories" in quality and "never confirmed online" in quality
