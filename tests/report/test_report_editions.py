"""The editions as a reader gets them: what the public one never names, how the restricted one
is marked, the Dutch edition, and the PDF pages (no heading alone at a page foot, no number
split from its unit). Every output is scanned: HTML, PDF text, CSVs and picture alt texts."""

from __future__ import annotations

import html as htmllib
import re
import subprocess
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from hostwatch.metrics.histories import phishtank_frame, urlhaus_frame
from hostwatch.metrics.period import parse_period
from hostwatch.metrics.synthetic import synthetic_world
from hostwatch.report.build import ReportFiles, ReportOptions, write_report

NBSP = "\u00a0"
MARKERS = {
    "en": "RESTRICTED EDITION: contains URLs and hosts; not for publication",
    "nl": "BEPERKTE EDITIE: bevat URL's en hosts; niet voor publicatie",
}


def _pdf_pages(path: Path) -> list[str]:
    text = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    return text.split("\f")[:-1]


def _visible(html: str) -> str:
    """The text a reader sees (tags and the stylesheet dropped, entities decoded)."""
    body = re.sub(r"<style>.*?</style>", " ", html, flags=re.S)
    body = re.sub(r'src="data:[^"]*"', "", body)
    return htmllib.unescape(re.sub(r"<[^>]+>", " ", body))


def _alts(html: str) -> list[str]:
    return [htmllib.unescape(a) for a in re.findall(r'<img[^>]*\salt="([^"]*)"', html)]


def _outputs(files: ReportFiles) -> dict[str, str]:
    html = files.html.read_text(encoding="utf-8")
    texts = {"html": html, "alt": "\n".join(_alts(html))}
    for path in files.written():
        if path.suffix == ".csv":
            texts[path.name] = path.read_text(encoding="utf-8")
    if files.pdf is not None:
        texts["pdf"] = "\n".join(_pdf_pages(files.pdf))
    return texts


def _identifiers(frame: pl.DataFrame) -> set[str]:
    values: set[str] = set()
    for column in ("url", "host", "ip", "registered_domain"):
        values |= {v for v in frame[column].drop_nulls().unique().to_list() if v}
    return values


@pytest.mark.parametrize("lang", ["en", "nl"])
def test_public_edition_names_no_url_host_ip_person_or_small_provider(
    editions: Any, lang: str
) -> None:
    files = editions.files["public", lang]
    assert files.cases_csv is None and not (files.html.parent / "cases.csv").exists()
    forbidden = _identifiers(editions.frame) | {editions.person} | set(editions.small)
    for name, text in _outputs(files).items():
        found = sorted(v for v in forbidden if v in text)
        assert not found, f"{lang} {name} names {found[:5]}"
    html = files.html.read_text(encoding="utf-8")
    assert editions.big in html
    other = {"en": "other providers (each fewer than", "nl": "overige providers (elk minder dan"}
    assert f"{other[lang]} {editions.min_cases}" in html


def test_public_provider_table_names_only_providers_with_enough_cases(editions: Any) -> None:
    table = pl.read_csv(editions.files["public", "en"].providers_csv)
    named = table.filter(~pl.col("group").str.starts_with("other providers"))
    named = named.filter(pl.col("group") != "unattributed")
    assert (named["n"] >= editions.min_cases).all()
    assert table["n"].sum() == editions.frame.height  # grouped, not dropped
    restricted = pl.read_csv(editions.files["restricted", "en"].providers_csv)
    assert set(editions.small) <= set(restricted["group"])


@pytest.mark.parametrize("lang", ["en", "nl"])
def test_restricted_edition_is_marked_on_every_page(editions: Any, lang: str) -> None:
    files = editions.files["restricted", lang]
    pages = _pdf_pages(files.pdf)  # type: ignore[arg-type]
    assert len(pages) >= 5
    for number, page in enumerate(pages, start=1):
        assert MARKERS[lang] in " ".join(page.split()), f"page {number} is not marked"
    html = files.html.read_text(encoding="utf-8")
    assert htmllib.escape(MARKERS[lang], quote=True) in html or MARKERS[lang] in html
    worst = editions.frame.sort("left_hours", descending=True)["url"][0]
    assert worst in html
    assert files.cases_csv is not None and worst in files.cases_csv.read_text(encoding="utf-8")


def test_dutch_edition_is_dutch(editions: Any) -> None:
    html = editions.files["public", "nl"].html.read_text(encoding="utf-8")
    text = _visible(html)
    assert '<html lang="nl">' in html
    for heading in ("Samenvatting", "Verwijdertijd per provider", "Begrippenlijst", "Methode"):
        assert f"<h2>{heading}</h2>" in html
    for english in ("Executive summary", "Glossary", "still online", "seen offline"):
        assert english not in text, english
    share = re.search(r"Daarvan werd (\d+,\d)%", text)
    assert share is not None  # Dutch decimal comma
    assert "procentpunt" in text and "2023" in text


def test_summary_is_prose_from_the_figures(editions: Any) -> None:
    html = editions.files["public", "en"].html.read_text(encoding="utf-8")
    summary = _visible(html[html.index('id="summary"') : html.index('id="providers"')])
    assert "In 2024 the monitor followed 5,000 reported cases." in summary
    assert "percentage points" in summary and "than in 2023" in summary
    assert "improved most" in summary
    assert "Relative to its size" in summary


@pytest.mark.parametrize("key", [("public", "en"), ("restricted", "nl")])
def test_units_and_bounds_read_as_a_person_would(editions: Any, key: tuple[str, str]) -> None:
    text = _visible(editions.files[key].html.read_text(encoding="utf-8"))
    hours: list[float] = []
    for match in re.finditer(r"(\d[\d.,]*)" + NBSP + r"h\b", text):
        number = match.group(1)
        value = (
            float(number.replace(".", "").replace(",", "."))
            if key[1] == "nl"
            else float(number.replace(",", ""))
        )
        hours.append(value)
        assert value <= 72.0, f"{number} h should be in days"
    assert hours
    assert re.search(r"\d" + NBSP + r"(days|dagen)\b", text)
    for same in re.finditer(r"(\d[\d.,]*%) \((?:up to|tot) (\d[\d.,]*%)\)", text):
        assert same.group(1) != same.group(2), same.group(0)
    assert re.search(r"\d [hd]\b", text.replace(NBSP, "~")) is None  # never a plain space


def test_concentration_names_no_top_ten_among_nine(tmp_path: Path) -> None:
    world = synthetic_world(800, n_providers=9, seed=2)
    files = write_report(world.frame, tmp_path, ReportOptions(period_label="2024"), pdf=False)
    text = _visible(files.html.read_text(encoding="utf-8"))
    assert "the 10 largest" not in text and "ten largest" not in text
    assert "the 5 largest" in text


def test_size_model_failure_is_said_in_words_with_raw_rates(tmp_path: Path) -> None:
    world = synthetic_world(1500, n_providers=12, seed=3)
    sizes = {p: {"ipv4": 256.0} for p in world.sizes}
    files = write_report(
        world.frame, tmp_path, ReportOptions(period_label="2024", sizes=sizes), pdf=False
    )
    html = files.html.read_text(encoding="utf-8")
    assert "Singular" not in html
    assert "every provider has the same size" in html
    section = html[html.index('id="size-unavailable"') : html.index('id="trends"')]
    assert section.count("<tr>") >= 2  # the raw rates instead


def test_right_of_reply(editions: Any) -> None:
    public = editions.files["public", "en"].html.read_text(encoding="utf-8")
    replies = public[public.index('id="replies"') : public.index('id="glossary"')]
    assert "We act within the hour. &lt;script&gt;" in replies
    assert "small provider" not in replies  # its author is not named in the public edition
    assert "1 responses came from providers this edition does not name" in replies
    restricted = editions.files["restricted", "en"].html.read_text(encoding="utf-8")
    assert "A small provider&#39;s reply." in restricted


def _headings(html: str) -> set[str]:
    return {
        " ".join(htmllib.unescape(h).split())
        for h in re.findall(r"<h[23][^>]*>(.*?)</h[23]>", html, flags=re.S)
    }


@pytest.mark.parametrize("key", [("public", "en"), ("public", "nl"), ("restricted", "en")])
def test_pdf_pages_have_no_orphan_heading_and_no_split_unit(
    editions: Any, key: tuple[str, str]
) -> None:
    files = editions.files[key]
    headings = _headings(files.html.read_text(encoding="utf-8"))
    pages = _pdf_pages(files.pdf)  # type: ignore[arg-type]
    noise = re.compile(r"^\s*(\d+ / \d+|" + re.escape(MARKERS[key[1]]) + r")\s*$")
    for number, page in enumerate(pages, start=1):
        lines = [
            " ".join(line.replace(MARKERS[key[1]], "").split())
            for line in page.splitlines()
            if line.strip() and not noise.match(line)
        ]
        lines = [line for line in lines if line and not re.fullmatch(r"\d+ / \d+", line)]
        assert lines, f"page {number} is empty"
        assert lines[-1] not in headings, f"page {number} ends with the heading {lines[-1]!r}"
        joined = "\n".join(lines)
        split = re.search(r"\d\n(h|%|days|dagen)\b", joined)
        assert split is None, f"page {number}: a number split from its unit: {split.group(0)!r}"


def _toy_attribution(ip: str) -> tuple[int, str | None, str | None] | None:
    first = int(ip.split(".")[0])
    return (64500 + first % 7, f"NET-{first % 7}", "NL" if first % 2 else "DE")


@pytest.mark.parametrize(
    ("history", "edition", "lang"),
    [("phishtank", "public", "nl"), ("urlhaus", "public", "en"), ("urlhaus", "restricted", "nl")],
)
def test_report_from_real_histories_in_every_edition(
    shared_data: Path, tmp_path: Path, history: str, edition: str, lang: str
) -> None:
    if history == "phishtank":
        folder = next(shared_data.glob("04_*"))
        frame = phishtank_frame(
            folder / "phish_lifetimes.csv.gz",
            folder / "snapshot_dates.csv",
            attribute=_toy_attribution,
        )
        period = parse_period("2019-03-01..2019-04-01")
    else:
        folder = next(shared_data.glob("11_*"))
        frame = urlhaus_frame(
            folder / "urlhaus_filter_online_intervals.csv.gz",
            folder / "urlhaus_filter_snapshots.csv.gz",
            attribute=_toy_attribution,
        )
        period = parse_period("2020-03-01..2020-04-01")
    frame = frame.filter((pl.col("start_at") >= period.start) & (pl.col("start_at") < period.end))
    options = ReportOptions(
        period_label=period.label, edition=edition, lang=lang, sources=[f"{history} (real)"]
    )
    files = write_report(frame, tmp_path, options, pdf=False)
    outputs = _outputs(files)
    identifiers = _identifiers(frame)
    if edition == "public":
        for name, text in outputs.items():
            found = sorted(v for v in identifiers if v in text)
            assert not found, f"{name} names {found[:5]}"
    else:
        assert any(v in outputs["html"] for v in identifiers)
    assert "NET-" in outputs["html"]
    assert pl.read_csv(files.providers_csv)["n"].sum() == frame.height


def _section(html: str, anchor: str) -> str:
    return html.split(f'<section id="{anchor}">', 1)[1].split("</section>", 1)[0]


def _rows(section: str, table_id: str) -> list[list[str]]:
    table = section.split(f'<table id="{table_id}">', 1)[1].split("</table>", 1)[0]
    return [
        [
            htmllib.unescape(re.sub(r"<[^>]+>", "", c)).strip()
            for c in re.findall(r"<td[^>]*>(.*?)</td>", row)
        ]
        for row in re.findall(r"<tr>(.*?)</tr>", table.split("<tbody>", 1)[1], re.S)
    ]


def _count(cell: str) -> int:
    return int(cell.replace(",", "").replace(".", ""))


@pytest.mark.parametrize("lang", ["en", "nl"])
def test_reachability_names_only_what_the_edition_names_and_adds_up(
    editions: Any, lang: str
) -> None:
    desks = {r["provider"]: r for r in editions.reachability["providers"]}
    total = editions.reachability["totals"]["messages"]
    public = _rows(
        _section(editions.files["public", lang].html.read_text(), "reachability"),
        "reachability-desks",
    )
    *named, other = public
    assert other[0].startswith("other providers" if lang == "en" else "overige providers")
    small = set(editions.small)
    assert all(row[0] in desks and row[0] not in small for row in named)
    assert _count(other[1]) == sum(desks[p]["messages"] for p in small)  # grouped, not dropped
    assert other[-1] == "–"  # no median made up for the group
    listed = {row[0] for row in named}
    unlisted = [p for p in desks if p not in listed | small]  # beyond the top: counted, named
    assert len(named) == 25 and unlisted
    assert all(desks[p]["messages"] <= _count(named[-1][1]) for p in unlisted)
    assert (
        sum(_count(row[1]) for row in public) + sum(desks[p]["messages"] for p in unlisted) == total
    )
    restricted = _rows(
        _section(editions.files["restricted", lang].html.read_text(), "reachability"),
        "reachability-desks",
    )
    assert len(restricted) == 25  # the busiest desks, named whatever their size
    assert [row[0] for row in restricted] == [
        r["provider"]
        for r in sorted(desks.values(), key=lambda r: (-r["messages"], r["provider"]))[:25]
    ]


def test_who_is_responsible_pseudonymises_resellers_in_public(editions: Any) -> None:
    resellers = set(editions.frame["reseller"].drop_nulls().unique().to_list())
    public = _section(editions.files["public", "en"].html.read_text(), "who-is-responsible")
    rows = _rows(public, "ownership-resellers")
    assert len(rows) == 15
    assert not resellers & {row[0] for row in rows}
    holders = {h for row in rows for h in row[1].split("; ")}
    assert not holders & set(editions.small)
    restricted = _section(editions.files["restricted", "en"].html.read_text(), "who-is-responsible")
    shown = {row[0] for row in _rows(restricted, "ownership-resellers")}
    assert shown & resellers  # named in the restricted edition
    nationality = _rows(public, "ownership-nationality")
    assert [row[0] for row in nationality] == [
        "network holder (AS organisation)",
        "reseller (nearest the customer)",
        "assigned customer",
    ]
    urls = editions.frame.filter(pl.col("country") == "NL")["url_id"].n_unique()
    for row in nationality:  # every URL hosted in NL is counted once per level
        assert sum(_count(c) for c in row[1:5]) == urls, row[0]


def test_sections_without_their_data_are_left_out_of_contents_and_body(
    editions: Any, tmp_path: Path
) -> None:
    for anchor in ("who-is-responsible", "reachability"):
        html = editions.files["public", "nl"].html.read_text()
        assert f'<a href="#{anchor}">' in html and f'<section id="{anchor}">' in html
    files = write_report(
        synthetic_world(400, n_providers=6, seed=4).frame,
        tmp_path,
        ReportOptions(period_label="2024"),
        pdf=False,
    )
    html = files.html.read_text(encoding="utf-8")
    for anchor in ("who-is-responsible", "reachability"):
        assert f'id="{anchor}"' not in html and f'href="#{anchor}"' not in html
    assert html.count("<section id=") == len(re.findall(r'<li><a href="#', html))
