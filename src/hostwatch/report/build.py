"""Build the monitor report from the analysis frame: compute, draw, render, export.

One context dictionary feeds the HTML template; the PDF is WeasyPrint's rendering of that same
HTML with the print stylesheet, so both always say the same thing. The template autoescapes
everything: provider, reseller and host names are data from the internet, not markup.

The document is a list of :data:`SECTIONS`: each is an anchor, a title and a template partial
under ``templates/sections/``; the contents, the headings and the order come from that list.
Adding a section is one :class:`Section` entry, one partial, and (when it needs figures of its
own) one function that adds them to the context in :func:`report_context`. A section only some
sources can fill (who is responsible, reachability: from a database only) names the context
entry it ``needs``; without it, the section is left out of the contents and the body alike.

What a reader may see is the :class:`~hostwatch.report.edition.Edition`'s rule: the public
edition computes from a frame in which small providers are one group, and never receives URLs,
hosts or IPs; the language is the ``report`` gettext catalogue plus Babel's number formats.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from hostwatch.csv_safety import write_frame_csv
from hostwatch.i18n import translations
from hostwatch.metrics import concentration as conc
from hostwatch.metrics import displacement, exposure, takedown, trends
from hostwatch.metrics.bounds import Bounds
from hostwatch.metrics.frame import UNATTRIBUTED
from hostwatch.metrics.groups import NO_RESELLER
from hostwatch.metrics.pseudonymise import pseudonym
from hostwatch.metrics.quality import frame_quality
from hostwatch.metrics.reachability import COUNTS
from hostwatch.metrics.size import MIN_PROVIDERS, RATE_UNIT, SizeModelError, raw_rates, size_table
from hostwatch.report import charts
from hostwatch.report.edition import PUBLIC, Edition
from hostwatch.report.exports import write_full_csv, write_researcher_csv
from hostwatch.report.formatting import DASH, Formatter, glue_units

TEMPLATES = Path(__file__).parent / "templates"
GRID = np.linspace(0.0, 168.0, 337)
LEVEL = 0.95
RESELLER_ROWS = 15
HOLDERS_SHOWN = 3


def N_(message: str) -> str:
    """Marks a message for the catalogue; it is translated where it is printed."""
    return message


UNIT_NAMES = {
    "ipv4": N_("IPv4 addresses"),
    "ipv6_48": N_("IPv6 /48 networks"),
    "domains": N_("hosted domains"),
}


@dataclass(frozen=True)
class Section:
    anchor: str
    title: str
    partial: str
    needs: str | None = None
    """The context entry without which the section is left out (None: always shown)."""


SECTIONS: tuple[Section, ...] = (
    Section("summary", N_("Executive summary"), "summary.html.j2"),
    Section("providers", N_("Takedown time per provider"), "providers.html.j2"),
    Section("exposure", N_("Exposure and concentration"), "exposure.html.j2"),
    Section("size", N_("Size-normalised ranking"), "size.html.j2"),
    Section("trends", N_("Trends"), "trends.html.j2"),
    Section("displacement", N_("Displacement and resellers"), "displacement.html.j2"),
    Section(
        "who-is-responsible",
        N_("Who is responsible"),
        "who_is_responsible.html.j2",
        needs="ownership",
    ),
    Section("data-quality", N_("Data quality"), "quality.html.j2"),
    Section(
        "reachability",
        N_("Reachability of abuse desks"),
        "reachability.html.j2",
        needs="reachability",
    ),
    Section("replies", N_("Right of reply"), "replies.html.j2"),
    Section("glossary", N_("Glossary"), "glossary.html.j2"),
    Section("methods", N_("Methods"), "methods.html.j2"),
)


@dataclass
class ReportOptions:
    """What the caller knows that the frame does not."""

    title: str = N_("Hosting of reported material: takedown monitor")
    period_label: str = "all data"
    country: str = "NL"
    sizes: Mapping[str, Mapping[str, float]] | None = None
    size_denominator: str = "ipv4"
    snapshots: Sequence[Mapping[str, Any]] = ()
    sources: Sequence[str] = ()
    simulated: bool = False
    pseudonym_key: str = "hostwatch-default-pseudonym-key"
    edition: str = PUBLIC
    lang: str = "en"
    min_cases: int = 10
    """Episodes a provider needs before the public edition names it."""
    publisher: str = "hostwatch monitor"
    version: str = field(default_factory=lambda: package_version("hostwatch"))
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
    replies: Sequence[Mapping[str, Any]] = ()
    """Providers' responses for this period (hostwatch.report.replies.replies_for)."""
    previous_label: str | None = None


@dataclass
class ReportFiles:
    html: Path
    pdf: Path | None
    cases_csv: Path | None
    """The full case table with URLs: restricted edition only."""
    researcher_csv: Path
    providers_csv: Path
    timings: dict[str, float] = field(default_factory=dict)

    def written(self) -> list[Path]:
        paths = (self.html, self.pdf, self.cases_csv, self.researcher_csv, self.providers_csv)
        return [p for p in paths if p is not None]


def wilson(successes: float, n: int) -> tuple[float | None, float | None]:
    """The 95% Wilson score interval of a share; None without cases."""
    from statsmodels.stats.proportion import proportion_confint

    if n <= 0:
        return None, None
    low, high = proportion_confint(round(successes), n, alpha=1 - LEVEL, method="wilson")
    return float(low), float(high)


def share_interval(seen: float | None, upper: float | None, n: int) -> tuple[Any, Any]:
    """Interval for "removed within 24 h": from the Wilson low of the share seen offline to the
    Wilson high of the share possibly removed, so that it covers both the sampling noise and
    what the records leave open."""
    if seen is None or n <= 0:
        return None, None
    low, _ = wilson(seen * n, n)
    _, high = wilson((upper if upper is not None else seen) * n, n)
    return low, high


class Report:
    """The pieces every section needs: the edition's frame, names, colours and language."""

    def __init__(self, frame: pl.DataFrame, options: ReportOptions) -> None:
        self.options = options
        self.fmt = Formatter(options.lang, translations("report", options.lang))
        self._ = self.fmt._
        self.edition = Edition(
            options.edition,
            options.min_cases,
            options.pseudonym_key,
            self._("other providers (each fewer than %(n)s cases)") % {"n": options.min_cases},
        )
        self.frame = frame
        self.named = self.edition.named_providers(frame)
        self.shown = self.edition.group_small(frame)
        ranked = (
            self.shown.filter(~pl.col("provider").is_in([UNATTRIBUTED, self.edition.other_label]))
            .group_by("provider")
            .len()
            .sort(["len", "provider"], descending=[True, False])["provider"]
            .to_list()
        )
        self.colours = charts.provider_colours([self.title(p) for p in ranked])

    def title(self, provider: Any) -> str:
        """A group as printed: the translated "unattributed", else the name."""
        if provider is None or provider == UNATTRIBUTED:
            return self._("unattributed")
        return str(provider)


def _curve_entry(title: str, bounds: Bounds) -> dict[str, Any]:
    return {"title": title, "n": bounds.n, **takedown.bounds_grid(bounds, GRID)}


def _reference(row: Mapping[str, Any], report: Report) -> str:
    """How a single case is named: its URL in the restricted edition, a keyed token otherwise."""
    if report.edition.restricted and row.get("url"):
        return str(row["url"])
    ident = row.get("case_id") if row.get("case_id") is not None else row.get("url_id")
    return report._("case %(token)s") % {
        "token": pseudonym(str(ident), report.options.pseudonym_key)
    }


def _provider_rows(table: pl.DataFrame, report: Report) -> list[dict[str, Any]]:
    """The largest named providers, then the group of small ones and the unattributed."""
    rows = table.to_dicts()
    tail = {report.edition.other_label, UNATTRIBUTED}
    named = [r for r in rows if r["group"] not in tail][: report.options.top]
    ordered = named + [r for r in rows if r["group"] in tail and r["n"]]
    for row in ordered:
        row["title"] = report.title(row["group"])
        row["ci24_low"], row["ci24_high"] = share_interval(
            row["removed_within_24h"], row["removed_within_24h_upper"], int(row["n"] or 0)
        )
    return ordered


def _takedown_section(report: Report) -> dict[str, Any]:
    frame = report.shown
    confirmed = takedown.confirmed(frame)
    if confirmed.is_empty():
        raise ValueError("no case episodes seen online in the selected period: nothing to report")
    overall = takedown.bounds_of(confirmed)
    summary = takedown.figures(frame, overall)
    summary["ci24_low"], summary["ci24_high"] = share_interval(
        summary["removed_within_24h"], summary["removed_within_24h_upper"], int(summary["n"])
    )
    by_provider = takedown.bounds_by_group(frame, "provider")
    table = takedown.takedown_table(frame, "provider", by_provider)
    rows = _provider_rows(table, report)
    curves = [_curve_entry(report._("all cases"), overall)]
    # A provider none of whose cases was seen online has a table row but no curve.
    drawn = [r for r in rows if r["group"] in report.named and str(r["group"]) in by_provider]
    for row in [r for r in drawn if r["group"] != UNATTRIBUTED]:
        if len(curves) > report.options.curves:
            break
        curves.append(_curve_entry(row["title"], by_provider[str(row["group"])]))
    worst = [
        {
            "provider": report.title(w["provider"]),
            "reference": _reference(w, report),
            "start_at": w["start_at"],
            "online_hours": w["left_hours"],
            "removed": bool(w["removed"]),
        }
        for w in confirmed.sort("left_hours", descending=True).head(15).to_dicts()
    ]
    return {
        "summary": summary,
        "providers": rows,
        "provider_count": len(report.frame["provider"].unique()),
        "named_count": len(report.named - {UNATTRIBUTED}),
        "provider_table": table,
        "curves": curves,
        "worst": worst,
        "clock_counts": dict(confirmed.group_by("clock_start").len().iter_rows()),
    }


def _size_section(report: Report) -> dict[str, Any]:
    return {"size": _size_figures(report)}


def _size_figures(report: Report) -> dict[str, Any] | None:
    options = report.options
    if not options.sizes:
        return None
    observed = {
        str(k): int(v)
        for k, v in report.frame.group_by("provider").agg(pl.col("url_id").n_unique()).iter_rows()
    }
    named = report.named
    without = sorted(set(observed) - set(options.sizes) - {UNATTRIBUTED})
    base = {
        "denominator": options.size_denominator,
        "min_providers": MIN_PROVIDERS,
        "without_size": report.edition.keep(without, named)[:50],
        "without_size_count": len(without),
    }
    try:
        table, params = size_table(observed, options.sizes, options.size_denominator)
    except SizeModelError as exc:
        rates = raw_rates(observed, options.sizes, options.size_denominator)
        shown = (
            rates.filter(pl.col("provider").is_in(list(named)))
            if not report.edition.restricted
            else rates
        )
        return {
            **base,
            "error": str(exc),
            "rates": shown.head(options.top).to_dicts(),
            "rate_unit": RATE_UNIT.get(options.size_denominator, 1.0),
            "unit_name": UNIT_NAMES.get(options.size_denominator, options.size_denominator),
        }
    rows = table.to_dicts()
    high = [r for r in rows if r["flag"] == "more than expected"]
    low = [r for r in rows if r["flag"] == "less than expected"]
    may_name = [r for r in high if report.edition.restricted or r["provider"] in named]
    return {
        **base,
        "params": params,
        "flagged_high": may_name[: options.top],
        "flagged_high_unnamed": len(high) - len(may_name),
        "flagged_low_count": len(low),
        "unflagged": sum(1 for r in rows if not r["flag"]),
        "chart": charts.size_chart(rows, options.size_denominator, report._),
    }


def _exposure_section(report: Report) -> dict[str, Any]:
    table = exposure.exposure_table(report.shown, "provider", report.options.country)
    rows = table.to_dicts()
    tail = {report.edition.other_label, UNATTRIBUTED}
    rows = [r for r in rows if r["group"] not in tail][: report.options.top] + [
        r for r in rows if r["group"] in tail
    ]
    for row in rows:
        row["title"] = report.title(row["group"])
    concentration = conc.concentration_report(report.frame, "provider")
    parties = concentration["parties"]
    tops = [(k, concentration[f"top{k}_share"]) for k in (1, 5, 10) if k == 1 or k < parties]
    return {
        "exposure_totals": exposure.exposure_totals(report.frame, report.options.country),
        "exposure": rows,
        "concentration": concentration,
        "concentration_tops": tops,
    }


def _trend_points(rows: Sequence[dict[str, Any]], min_cases: int) -> list[dict[str, Any]]:
    """Quarters with enough cases for a share, each with its interval."""
    points = []
    for row in rows:
        if (row.get("n") or 0) < min_cases or row.get("removed_within_24h") is None:
            continue
        low, high = share_interval(
            row["removed_within_24h"], row.get("removed_within_24h_upper"), int(row["n"])
        )
        points.append({**row, "low": low, "high": high})
    return points


def _trends_section(report: Report) -> dict[str, Any]:
    quarterly = trends.quarterly(report.shown, "provider", top=8)
    tail = {report.edition.other_label, UNATTRIBUTED}
    overall = _trend_points(quarterly["overall"], report.options.min_cases)
    for row in quarterly["overall"]:
        row["ci24_low"], row["ci24_high"] = share_interval(
            row["removed_within_24h"], row.get("removed_within_24h_upper"), int(row["n"])
        )
    groups = [
        {**g, "title": report.title(g["group"])}
        for g in _trend_points(quarterly["groups"], report.options.min_cases)
        if g["group"] not in tail
    ]
    changes = {
        c["quarter"]: {
            "entered": [report.title(g) for g in c["entered"]],
            "left": [report.title(g) for g in c["left"]],
        }
        for c in quarterly["top_changes"]
    }
    return {
        "quarterly": quarterly,
        "trend_points": overall,
        "trend_groups": groups,
        "top_changes": changes,
    }


def _displacement_section(report: Report) -> dict[str, Any]:
    flows = [
        {
            **f,
            "from_provider": report.title(f["from_provider"]),
            "to_provider": report.title(f["to_provider"]),
        }
        for f in displacement.flows(report.shown, "host").head(15).to_dicts()
    ]
    resellers = [
        {**r, "reseller": report.edition.reseller(r["reseller"])}
        for r in displacement.repeat_offences(report.frame, "reseller").head(10).to_dicts()
    ]
    return {"flows": flows, "resellers": resellers}


def _reseller_title(name: str | None, report: Report) -> str:
    """A reseller group as printed: the partition's own groups translated, a reseller by the
    edition's rule (a keyed reference in public: a reseller may be a natural person)."""
    if name is None or name == UNATTRIBUTED:
        return report.title(name)
    if name == NO_RESELLER:
        return report._("(no reseller)")
    return report.edition.reseller(name)


def _holders_title(holders: str | None, report: Report) -> str:
    """A reseller's network holder(s), most episodes first: in public only those the edition
    names as providers; past the first few, how many more (a table cell, not a list)."""
    if not holders:
        return DASH
    shown: list[str] = []
    for name in holders.split("; "):
        title = (
            name
            if report.edition.restricted or name in report.named
            else report._("not named in this edition")
        )
        if title not in shown:
            shown.append(title)
    if len(shown) > HOLDERS_SHOWN:
        more = report._("and %(n)s more") % {"n": report.fmt.num(len(shown) - HOLDERS_SHOWN)}
        shown = [*shown[:HOLDERS_SHOWN], more]
    return "; ".join(shown)


def _ownership_section(report: Report) -> dict[str, Any]:
    """Who is responsible (issue 18): the counts as computed, the resellers by the edition."""
    doc = report.options.ownership
    if not doc:
        return {"ownership": None}
    resellers = [
        {
            **r,
            "reseller": _reseller_title(r["reseller"], report),
            "network_holder": _holders_title(r["network_holder"], report),
        }
        for r in doc["resellers"][:RESELLER_ROWS]
    ]
    return {
        "ownership": {
            "hosted_in_country": doc["hosted_in_country"],
            "resellers": resellers,
            "reseller_count": len(doc["resellers"]),
        }
    }


def _reachability_section(report: Report) -> dict[str, Any]:
    """Reachability of abuse desks (issue 16): the providers the edition names, busiest first,
    and in public the others as one row whose counts are their sums."""
    doc = report.options.reachability
    if not doc:
        return {"reachability": None}
    desks = sorted(doc["providers"], key=lambda r: (-r["messages"], r["provider"]))
    named = [report.edition.restricted or r["provider"] in report.named for r in desks]
    may = [r for r, ok in zip(desks, named, strict=True) if ok]
    rest = [r for r, ok in zip(desks, named, strict=True) if not ok]
    rows = [dict(r) for r in may[: report.options.top]]
    if rest:
        rows.append(
            {
                "provider": report.edition.other_label,
                **{name: sum(r[name] for r in rest) for name in COUNTS},
                "first_response_hours": None,  # a median is not the sum of medians
                "grouped": len(rest),
            }
        )
    return {
        "reachability": {
            "totals": doc["totals"],
            "desks": rows,
            "more": len(may) - min(len(may), report.options.top),
            "grouped": len(rest),
        }
    }


def _replies_section(report: Report) -> dict[str, Any]:
    may = [
        r
        for r in report.options.replies
        if report.edition.restricted or r["provider"] in report.named
    ]
    return {"replies": may, "replies_hidden": len(report.options.replies) - len(may)}


def _previous(report: Report, previous: pl.DataFrame | None) -> dict[str, Any] | None:
    """The previous period's headline and per-provider shares, for the summary's comparison."""
    if previous is None:
        return None
    confirmed = takedown.confirmed(previous)
    if confirmed.is_empty():
        return None
    summary = takedown.figures(previous, takedown.bounds_of(confirmed))
    table = takedown.takedown_table(
        previous, "provider", takedown.bounds_by_group(previous, "provider")
    )
    providers = {
        str(r["group"]): r
        for r in table.to_dicts()
        if (r["n"] or 0) >= report.options.min_cases and r["group"] != UNATTRIBUTED
    }
    return {"summary": summary, "providers": providers, "label": report.options.previous_label}


def _charts(report: Report, context: dict[str, Any]) -> dict[str, dict[str, str]]:
    """Every picture with the alt text that says what it shows, for readers who cannot see it."""
    _, fmt = report._, report.fmt
    named_curves = [c["title"] for c in context["curves"][1:]]
    after_24 = context["curves"][0]["survival"][int(np.searchsorted(GRID, 24.0))]
    pictures = {
        "survival": (
            charts.survival_chart(context["curves"], report.colours, _),
            _(
                "Step chart of the share of cases still online (0 to 100%%) against the hours "
                "since the clock start (0 to 168), for all cases and for %(names)s. After 24 "
                "hours %(share)s of all cases were still online."
            )
            % {"names": ", ".join(named_curves) or "–", "share": fmt.pct(after_24)},
        ),
        "buckets": (
            charts.bucket_chart(context["providers"], _),
            _(
                "Stacked bars, one per provider in the table above, of the share of cases seen "
                "offline within 1 hour, 1 to 12 hours, 12 to 24 hours, 24 to 48 hours, and "
                "later or not yet."
            ),
        ),
        "lorenz": (
            charts.lorenz_chart(
                context["concentration"]["lorenz"], context["concentration"]["gini"], _
            ),
            _(
                "Lorenz curve of reported URLs over %(n)s providers; Gini coefficient %(gini)s, "
                "the largest provider holds %(top)s."
            )
            % {
                "n": fmt.num(context["concentration"]["parties"]),
                "gini": fmt.num(context["concentration"]["gini"], 2),
                "top": fmt.pct(context["concentration"]["top1_share"]),
            },
        ),
    }
    if context["trend_points"]:
        first, last = context["trend_points"][0], context["trend_points"][-1]
        pictures["trend"] = (
            charts.trend_chart(context["trend_points"], context["trend_groups"], report.colours, _),
            _(
                "Share removed within 24 hours per quarter with 95%% intervals, all cases and "
                "the largest named providers; all cases from %(first)s in %(q1)s to %(last)s in "
                "%(q2)s. Quarters with fewer than %(min)s cases are not drawn."
            )
            % {
                "first": fmt.pct(first["removed_within_24h"]),
                "q1": first["quarter"],
                "last": fmt.pct(last["removed_within_24h"]),
                "q2": last["quarter"],
                "min": report.options.min_cases,
            },
        )
        pictures["volume"] = (
            charts.volume_chart(context["quarterly"]["overall"], _),
            _("Bar chart of cases per quarter: %(counts)s.")
            % {
                "counts": "; ".join(
                    f"{q['quarter']} {fmt.num(q['n'])}" for q in context["quarterly"]["overall"]
                )
            },
        )
    if context["flows"]:
        pictures["flows"] = (
            charts.flow_chart(context["flows"], _),
            _(
                "Bars of the largest moves of hosts from one provider to another; the "
                "largest: %(top)s."
            )
            % {
                "top": f"{context['flows'][0]['from_provider']} → "
                f"{context['flows'][0]['to_provider']} ({fmt.num(context['flows'][0]['moves'])})"
            },
        )
    size = context["size"]
    if size and size.get("chart"):
        pictures["size"] = (
            size.pop("chart"),
            _(
                "Scatter plot on log scales of observed against expected reported URLs for %(n)s "
                "providers with a known size, with 95%% intervals; %(high)s lie above the "
                "diagonal by more than their interval."
            )
            % {
                "n": fmt.num(size["params"]["providers"]),
                "high": fmt.num(len(size["flagged_high"]) + size["flagged_high_unnamed"]),
            },
        )
    return {key: {"src": charts.data_uri(svg), "alt": alt} for key, (svg, alt) in pictures.items()}


def _require_episodes(frame: pl.DataFrame) -> None:
    if frame.is_empty():
        raise ValueError("no case episodes in the selected period: nothing to report")


def report_context(
    frame: pl.DataFrame,
    options: ReportOptions,
    previous: pl.DataFrame | None = None,
    report: Report | None = None,
) -> dict[str, Any]:
    """Every number, table and chart of the report (``report``: the frame's :class:`Report`,
    when the caller has made it already)."""
    from hostwatch.report.prose import executive_summary

    _require_episodes(frame)
    timings: dict[str, float] = {}
    report = report or Report(frame, options)
    context: dict[str, Any] = {"options": options, "edition": report.edition}
    for name, part in (
        ("takedown", _takedown_section),
        ("exposure", _exposure_section),
        ("trends", _trends_section),
        ("displacement", _displacement_section),
        ("size", _size_section),
        ("replies", _replies_section),
        ("ownership", _ownership_section),
        ("reachability", _reachability_section),
    ):
        tick = time.perf_counter()
        context.update(part(report))
        timings[name] = time.perf_counter() - tick
    tick = time.perf_counter()
    context["charts"] = _charts(report, context)
    timings["charts"] = time.perf_counter() - tick
    context["previous"] = _previous(report, previous)
    context["executive"] = executive_summary(context, report)
    context.update(
        sections=tuple(s for s in SECTIONS if s.needs is None or context.get(s.needs)),
        first_start=frame["start_at"].min(),
        last_start=frame["start_at"].max(),
        quality=options.quality or frame_quality(frame),
        colours=report.colours,
        timings=timings,
        fmt=report.fmt,
    )
    return context


def _environment(lang: str) -> Any:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.i18n"],
    )
    env.install_gettext_translations(translations("report", lang), newstyle=True)  # type: ignore[attr-defined]
    return env


def render_html(context: Mapping[str, Any]) -> str:
    fmt: Formatter = context["fmt"]
    env = _environment(fmt.lang)
    env.filters.update(fmt.filters())
    env.globals["quantile"] = fmt.quantile
    env.globals["share_upto"] = fmt.share_upto
    css = (TEMPLATES / "report.css").read_text(encoding="utf-8")
    return glue_units(env.get_template("report.html.j2").render(**context, css=css))


def write_pdf(html: str, path: Path) -> Path:
    from weasyprint import HTML

    HTML(string=html, base_url=str(TEMPLATES)).write_pdf(path)
    return path


def write_report(
    frame: pl.DataFrame,
    out_dir: Path,
    options: ReportOptions,
    *,
    pdf: bool = True,
    previous: pl.DataFrame | None = None,
) -> ReportFiles:
    """Write report.html, report.pdf and the CSV exports of the edition into ``out_dir``.

    The public edition writes no ``cases.csv`` (it holds URLs); its researcher table carries the
    grouped provider names and keyed tokens only.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    _require_episodes(frame)
    tick = time.perf_counter()
    report = Report(frame, options)
    # The researcher table (keyed hashing, a Python loop over every identifier) needs only the
    # edition's frame: written in a thread while the sections are computed, mostly in Polars,
    # which leaves the interpreter free meanwhile (a million cases: 1.3 s off the report).
    with ThreadPoolExecutor(1, thread_name_prefix="researcher-csv") as pool:
        researcher_job = pool.submit(
            write_researcher_csv,
            report.shown,
            out_dir / "cases_researcher.csv",
            options.pseudonym_key,
        )
        context = report_context(frame, options, previous, report)
        html = render_html(context)
        html_path = out_dir / "report.html"
        html_path.write_text(html, encoding="utf-8")
        timings = dict(context["timings"])
        timings["html_total"] = time.perf_counter() - tick

        tick = time.perf_counter()
        edition: Edition = context["edition"]
        cases = write_full_csv(frame, out_dir / "cases.csv") if edition.restricted else None
        if not edition.restricted:
            (out_dir / "cases.csv").unlink(missing_ok=True)
        researcher = researcher_job.result()
    providers = out_dir / "takedown_by_provider.csv"
    write_frame_csv(context["provider_table"], providers)
    timings["exports"] = time.perf_counter() - tick

    pdf_path = None
    if pdf:
        tick = time.perf_counter()
        pdf_path = write_pdf(html, out_dir / "report.pdf")
        timings["pdf"] = time.perf_counter() - tick
    return ReportFiles(html_path, pdf_path, cases, researcher, providers, timings)
