"""Build the monitor report from the analysis frame: compute, draw, render, export.

One context dictionary feeds the HTML template; the PDF is WeasyPrint's rendering of that same
HTML with the print stylesheet, so both always say the same thing. The template autoescapes
everything: provider, reseller and host names are data from the internet, not markup.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from hostwatch.csv_safety import write_frame_csv
from hostwatch.metrics import concentration as conc
from hostwatch.metrics import displacement, exposure, takedown, trends
from hostwatch.metrics.bounds import Bounds
from hostwatch.metrics.pseudonymise import pseudonym
from hostwatch.metrics.quality import frame_quality
from hostwatch.metrics.size import MIN_PROVIDERS, size_table
from hostwatch.report import charts
from hostwatch.report.exports import write_full_csv, write_researcher_csv

TEMPLATES = Path(__file__).parent / "templates"
GRID = np.linspace(0.0, 168.0, 337)


@dataclass
class ReportOptions:
    """What the caller knows that the frame does not."""

    title: str = "Hosting of reported material: takedown monitor"
    period_label: str = "all data"
    country: str = "NL"
    sizes: Mapping[str, Mapping[str, float]] | None = None
    size_denominator: str = "ipv4"
    snapshots: Sequence[Mapping[str, Any]] = ()
    sources: Sequence[str] = ()
    simulated: bool = False
    pseudonym_key: str = "hostwatch-default-pseudonym-key"
    show_urls: bool = False
    top: int = 25
    curves: int = 6
    generated_at: datetime | None = None
    audit_head: Mapping[str, Any] | None = None
    """The audit log's head the report was built on (tree_size, root_hash, signature, ...)."""
    # The data-quality document (hostwatch.metrics.quality.data_quality) when the report comes
    # from a database; otherwise the part the episodes alone tell.
    quality: Mapping[str, Any] | None = None
    # Reachability of abuse desks (hostwatch.metrics.reachability) when from a database.
    reachability: Mapping[str, Any] | None = None
    # "Who is responsible" (hostwatch.metrics.ownership.ownership_report) when the report comes
    # from a database, which holds the parties of each attribution; otherwise no such section.
    ownership: Mapping[str, Any] | None = None


@dataclass
class ReportFiles:
    html: Path
    pdf: Path | None
    cases_csv: Path
    researcher_csv: Path
    providers_csv: Path
    timings: dict[str, float] = field(default_factory=dict)


def _curve_entry(label: str, bounds: Bounds) -> dict[str, Any]:
    return {"label": label, "n": bounds.n, **takedown.bounds_grid(bounds, GRID)}


def _reference(row: Mapping[str, Any], options: ReportOptions) -> str:
    """How a single case is named in the report: its URL only when the caller allows it."""
    if options.show_urls and row.get("url"):
        return str(row["url"])
    ident = row.get("case_id") if row.get("case_id") is not None else row.get("url_id")
    return "case " + pseudonym(str(ident), options.pseudonym_key)


def _size_section(frame: pl.DataFrame, options: ReportOptions) -> dict[str, Any] | None:
    if not options.sizes:
        return None
    observed = {
        str(k): int(v)
        for k, v in frame.group_by("provider").agg(pl.col("url_id").n_unique()).iter_rows()
    }
    try:
        table, params = size_table(observed, options.sizes, options.size_denominator)
    except ValueError as exc:
        return {"error": str(exc)}
    rows = table.to_dicts()
    with_size = set(table["provider"].to_list())
    return {
        "params": params,
        "flagged_high": [r for r in rows if r["flag"] == "more than expected"][: options.top],
        "flagged_low": [r for r in rows if r["flag"] == "less than expected"][:10],
        "unflagged": sum(1 for r in rows if not r["flag"]),
        "without_size": sorted(set(observed) - with_size - {"unattributed"})[:50],
        "chart": charts.data_uri(charts.size_chart(rows, options.size_denominator)),
        "denominator": options.size_denominator,
        "min_providers": MIN_PROVIDERS,
    }


def report_context(frame: pl.DataFrame, options: ReportOptions) -> dict[str, Any]:
    """Every number, table and chart of the report."""
    timings: dict[str, float] = {}
    tick = time.perf_counter()
    if frame.is_empty():
        raise ValueError("no case episodes in the selected period: nothing to report")

    confirmed = takedown.confirmed(frame)
    if confirmed.is_empty():
        raise ValueError("no case episodes seen online in the selected period: nothing to report")
    overall = takedown.bounds_of(confirmed)
    summary = takedown.figures(frame, overall)
    by_provider = takedown.bounds_by_group(frame, "provider")
    table = takedown.takedown_table(frame, "provider", by_provider)
    timings["takedown"] = time.perf_counter() - tick

    tick = time.perf_counter()
    top_rows = table.head(options.top).to_dicts()
    curve_list = [_curve_entry("all cases", overall)]
    named = [r for r in top_rows if r["group"] != "unattributed" and r["n"]][: options.curves]
    for row in named:
        curve_list.append(_curve_entry(str(row["group"]), by_provider[str(row["group"])]))
    timings["bands"] = time.perf_counter() - tick

    tick = time.perf_counter()
    worst = confirmed.sort("left_hours", descending=True).head(15).to_dicts()
    worst_rows = [
        {
            "provider": w["provider"],
            "reference": _reference(w, options),
            "start_at": w["start_at"],
            "online_hours": w["left_hours"],
            "status": "removed" if w["removed"] else "still online at period end",
        }
        for w in worst
    ]
    totals = exposure.exposure_totals(frame, options.country)
    exposure_rows = exposure.exposure_table(frame, "provider", options.country).head(options.top)
    concentration = conc.concentration_report(frame, "provider")
    timings["exposure"] = time.perf_counter() - tick

    tick = time.perf_counter()
    quarterly = trends.quarterly(frame, "provider", top=8)
    flows = displacement.flows(frame, "host").head(15)
    resellers = displacement.repeat_offences(frame, "reseller").head(10)
    timings["trends_displacement"] = time.perf_counter() - tick

    tick = time.perf_counter()
    size = _size_section(frame, options)
    timings["size"] = time.perf_counter() - tick

    tick = time.perf_counter()
    clock_counts = dict(confirmed.group_by("clock_start").len().iter_rows())
    chart_uris = {
        "survival": charts.data_uri(charts.survival_chart(curve_list)),
        "buckets": charts.data_uri(charts.bucket_chart(top_rows)),
        "lorenz": charts.data_uri(
            charts.lorenz_chart(concentration["lorenz"], concentration["gini"])
        ),
    }
    if quarterly["overall"]:
        chart_uris["trend"] = charts.data_uri(
            charts.trend_chart(quarterly["overall"], quarterly["groups"])
        )
        chart_uris["volume"] = charts.data_uri(charts.volume_chart(quarterly["overall"]))
    if flows.height:
        chart_uris["flows"] = charts.data_uri(charts.flow_chart(flows.to_dicts()))
    timings["charts"] = time.perf_counter() - tick

    first, last = frame["start_at"].min(), frame["start_at"].max()
    return {
        "options": options,
        "summary": summary,
        "exposure_totals": totals,
        "providers": top_rows,
        "provider_count": table.height,
        "provider_table": table,
        "worst": worst_rows,
        "exposure": exposure_rows.to_dicts(),
        "concentration": concentration,
        "quarterly": quarterly,
        "flows": flows.to_dicts(),
        "resellers": resellers.to_dicts(),
        "size": size,
        "charts": chart_uris,
        "clock_counts": clock_counts,
        "first_start": first,
        "last_start": last,
        "quality": options.quality or frame_quality(frame),
        "reachability": options.reachability,
        "ownership": options.ownership,
        "timings": timings,
    }


def _environment() -> Any:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["pct"] = lambda v, d=1: "–" if v is None else f"{100 * v:.{d}f}%"
    env.filters["num"] = lambda v: "–" if v is None else f"{v:,.0f}"
    env.filters["hours"] = lambda v: "not reached" if v is None else f"{v:,.1f} h"
    env.filters["hrs"] = lambda v: "–" if v is None else f"{v:,.1f} h"
    env.filters["fixed"] = lambda v, d=2: "–" if v is None else f"{v:,.{d}f}"
    env.filters["when"] = lambda v: "–" if v is None else v.strftime("%Y-%m-%d %H:%M")
    env.globals["quantile"] = takedown.quantile_text
    return env


def render_html(context: Mapping[str, Any]) -> str:
    env = _environment()
    css = (TEMPLATES / "report.css").read_text(encoding="utf-8")
    return env.get_template("report.html.j2").render(**context, css=css)


def write_pdf(html: str, path: Path) -> Path:
    from weasyprint import HTML

    HTML(string=html, base_url=str(TEMPLATES)).write_pdf(path)
    return path


def write_report(
    frame: pl.DataFrame, out_dir: Path, options: ReportOptions, *, pdf: bool = True
) -> ReportFiles:
    """Write report.html, report.pdf and the CSV exports into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    tick = time.perf_counter()
    context = report_context(frame, options)
    html = render_html(context)
    html_path = out_dir / "report.html"
    html_path.write_text(html, encoding="utf-8")
    timings = dict(context["timings"])
    timings["html_total"] = time.perf_counter() - tick

    tick = time.perf_counter()
    cases = write_full_csv(frame, out_dir / "cases.csv")
    researcher = write_researcher_csv(
        frame, out_dir / "cases_researcher.csv", options.pseudonym_key
    )
    providers = out_dir / "takedown_by_provider.csv"
    write_frame_csv(context["provider_table"], providers)
    timings["exports"] = time.perf_counter() - tick

    pdf_path = None
    if pdf:
        tick = time.perf_counter()
        pdf_path = write_pdf(html, out_dir / "report.pdf")
        timings["pdf"] = time.perf_counter() - tick
    return ReportFiles(html_path, pdf_path, cases, researcher, providers, timings)
