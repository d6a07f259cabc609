"""The report's figures, drawn with matplotlib from aggregates (never one point per case).

Each function returns SVG text; the report embeds it as a data URI so the HTML needs no network
and WeasyPrint draws the same vectors into the PDF. Names on axes are plain text in SVG, which
matplotlib escapes, and never markup.

A provider keeps one colour in every chart (:func:`provider_colours`, by rank of cases), "all
cases" is always black, legends stand outside the plotting area so they never cover a curve,
and every label comes through the caller's ``_`` (the report's gettext).
"""

from __future__ import annotations

import base64
import io
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

PALETTE = [
    "#1b5e9b",
    "#d9534f",
    "#2e8b57",
    "#e69f00",
    "#6a3d9a",
    "#8c564b",
    "#17becf",
    "#7f7f7f",
    "#bcbd22",
    "#e377c2",
]
ALL_CASES = "#000000"
OTHER = "#9e9e9e"
BUCKET_COLOURS = ["#1a7f37", "#4caf50", "#a5d6a7", "#ffb74d", "#d32f2f"]


def _figure(width: float = 7.5, height: float = 3.6) -> tuple[Any, Any]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update(
        {
            "font.family": "DejaVu Sans",
            "font.size": 9,
            "svg.fonttype": "path",
            # Element ids from a fixed salt: the same figures draw byte-identical SVG.
            "svg.hashsalt": "hostwatch",
            "axes.spines.top": False,
            "axes.spines.right": False,
        }
    )
    return plt.subplots(figsize=(width, height))


def _svg(fig: Any) -> str:
    import matplotlib.pyplot as plt

    buffer = io.StringIO()
    fig.tight_layout()
    fig.savefig(buffer, format="svg", metadata={"Date": None})
    plt.close(fig)
    return buffer.getvalue()


def data_uri(svg: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


def _short(name: str, limit: int = 34) -> str:
    return name if len(name) <= limit else name[: limit - 1] + "…"


Gettext = Callable[[str], str]


def provider_colours(ranked: Sequence[str]) -> dict[str, str]:
    """One colour per provider for the whole report: the palette in order of cases, grey after."""
    return {name: PALETTE[i] if i < len(PALETTE) else OTHER for i, name in enumerate(ranked)}


def survival_chart(
    curves: Sequence[dict[str, Any]],
    colours: Mapping[str, str],
    _: Gettext,
    horizon: float = 168.0,
) -> str:
    """Share still online against hours since the clock start, with the "up to" band shaded."""
    fig, ax = _figure(8.0, 3.8)
    for i, curve in enumerate(curves):
        hours = np.asarray(curve["hours"])
        colour = ALL_CASES if i == 0 else colours.get(curve["title"], OTHER)
        ax.step(
            hours,
            curve["survival"],
            where="post",
            color=colour,
            lw=2.2 if i == 0 else 1.3,
            label=_short(f"{curve['title']} (n = {curve['n']:,})"),
        )
        low, high = np.asarray(curve["ci_low"]), np.asarray(curve["ci_high"])
        if np.isfinite(low).any():
            ax.fill_between(hours, low, high, step="post", color=colour, alpha=0.15, lw=0)
    ax.axvline(24, color="#444", ls="--", lw=0.8)
    ax.text(24.5, 0.03, "24 h", fontsize=8, va="bottom")
    ax.set_xlim(0, horizon)
    ax.set_ylim(0, 1.01)
    ax.set_xticks(np.arange(0, horizon + 1, 24))
    ax.set_xlabel(_("hours since the clock start"))
    ax.set_ylabel(_("share still online"))
    ax.legend(fontsize=7, frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return _svg(fig)


def bucket_chart(rows: Sequence[dict[str, Any]], _: Gettext) -> str:
    """Stacked bars per provider: removed within 1 h, 1-12 h, 12-24 h, 24-48 h, later/never."""
    labels = [_short(str(r["title"])) for r in rows][::-1]
    parts = np.array(
        [
            [
                r["removed_within_1h"] or 0.0,
                (r["removed_within_12h"] or 0.0) - (r["removed_within_1h"] or 0.0),
                (r["removed_within_24h"] or 0.0) - (r["removed_within_12h"] or 0.0),
                r["removed_24_48h"] or 0.0,
                r["removed_over_48h"] or 0.0,
            ]
            for r in rows
        ]
    )[::-1]
    fig, ax = _figure(7.5, max(2.4, 0.26 * len(rows) + 1.3))
    left = np.zeros(len(rows))
    names = ["≤ 1 h", "1–12 h", "12–24 h", "24–48 h", _("> 48 h or not yet")]
    for k, name in enumerate(names):
        ax.barh(labels, parts[:, k], left=left, color=BUCKET_COLOURS[k], label=name, height=0.7)
        left += parts[:, k]
    ax.set_xlim(0, 1)
    ax.set_xlabel(_("share of cases"))
    ax.tick_params(axis="y", labelsize=7)
    ax.legend(ncol=5, fontsize=7, frameon=False, loc="lower left", bbox_to_anchor=(0.0, 1.0))
    return _svg(fig)


def lorenz_chart(lorenz: dict[str, list[float]], gini: float | None, _: Gettext) -> str:
    fig, ax = _figure(6.0, 3.4)
    ax.plot([0, 1], [0, 1], color="#999", lw=0.8, ls="--", label=_("equal shares"))
    label = _("Lorenz curve")
    if gini is not None:
        label += f" (Gini {gini:.2f})"
    ax.plot(lorenz["x"], lorenz["y"], color=PALETTE[0], lw=2, label=label)
    ax.set_xlabel(_("share of providers (smallest first)"))
    ax.set_ylabel(_("share of reported URLs"))
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.legend(fontsize=7, frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return _svg(fig)


def size_chart(rows: Sequence[dict[str, Any]], denominator: str, _: Gettext) -> str:
    """Observed against expected counts (log-log) with the ratio intervals as vertical bars."""
    fig, ax = _figure(7.5, 4.0)
    expected = np.array([r["expected"] for r in rows])
    observed = np.array([r["observed"] for r in rows], dtype=float)
    low = np.array([r["ratio_low"] for r in rows]) * expected
    high = np.array([r["ratio_high"] for r in rows]) * expected
    flags = [r["flag"] for r in rows]
    floor = 0.5
    kinds = {
        "more than expected": ("#d32f2f", _("interval above 1")),
        "less than expected": ("#1a7f37", _("interval below 1")),
        "": ("#9e9e9e", _("not flagged")),
    }
    for flag, (colour, label) in kinds.items():
        mask = np.array([f == flag for f in flags], dtype=bool)
        if not mask.any():
            continue
        ax.vlines(
            expected[mask],
            np.maximum(low[mask], floor),
            np.maximum(high[mask], floor),
            colors=colour,
            lw=0.8,
            alpha=0.6,
        )
        ax.scatter(
            expected[mask], np.maximum(observed[mask], floor), c=colour, s=10, zorder=3, label=label
        )
    span = [max(min(expected.min(), 1.0), 0.1), max(expected.max(), observed.max(), 10) * 1.5]
    ax.plot(span, span, color="#444", lw=0.8, ls="--", label=_("observed = expected"))
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(_("expected URLs given size (%(denominator)s)") % {"denominator": denominator})
    ax.set_ylabel(_("observed URLs (0 drawn at 0.5)"))
    ax.legend(fontsize=7, frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return _svg(fig)


def trend_chart(
    overall: Sequence[dict[str, Any]],
    groups: Sequence[dict[str, Any]],
    colours: Mapping[str, str],
    _: Gettext,
) -> str:
    """Share removed within 24 h per quarter with its 95% interval (all cases and the named
    providers); quarters with too few cases for a share carry no point at all."""
    fig, ax = _figure(8.0, 3.8)
    quarters = sorted({r["quarter"] for r in overall})
    position = {q: i for i, q in enumerate(quarters)}

    def draw(
        points: Sequence[dict[str, Any]], colour: str, label: str, width: float, shift: float
    ) -> None:
        if not points:
            return
        # Side by side within a quarter, so that intervals do not hide each other.
        x = np.array([position[p["quarter"]] for p in points], dtype=float) + shift
        y = np.array([p["removed_within_24h"] for p in points])
        low = np.array([p["low"] for p in points])
        high = np.array([p["high"] for p in points])
        ax.errorbar(
            x,
            y,
            yerr=[np.clip(y - low, 0, None), np.clip(high - y, 0, None)],
            color=colour,
            lw=width,
            marker="o",
            ms=3,
            capsize=2,
            label=label,
        )

    draw(overall, ALL_CASES, _("all cases"), 2.0, 0.0)
    rank = {name: i for i, name in enumerate(colours)}
    names = sorted({g["title"] for g in groups}, key=lambda n: (rank.get(n, len(rank)), n))
    for offset, name in enumerate(names, start=1):
        points = [g for g in groups if g["title"] == name]
        draw(points, colours.get(name, OTHER), _short(name, 28), 1.0, 0.05 * offset)
    ax.set_xticks(range(len(quarters)), quarters)
    ax.set_ylim(0, 1.01)
    ax.set_ylabel(_("removed within 24 h"))
    ax.tick_params(axis="x", labelsize=7)
    ax.legend(fontsize=7, frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return _svg(fig)


def volume_chart(overall: Sequence[dict[str, Any]], _: Gettext) -> str:
    fig, ax = _figure(8.0, 2.4)
    ax.bar([r["quarter"] for r in overall], [r["n"] for r in overall], color=PALETTE[0])
    ax.set_ylabel(_("cases"))
    ax.tick_params(axis="x", labelsize=7)
    return _svg(fig)


def flow_chart(rows: Sequence[dict[str, Any]], _: Gettext) -> str:
    """The largest provider-to-provider moves as horizontal bars labelled 'from → to'."""
    labels = [
        f"{_short(str(r['from_provider']), 24)} → {_short(str(r['to_provider']), 24)}" for r in rows
    ][::-1]
    fig, ax = _figure(7.5, max(2.0, 0.26 * len(rows) + 0.8))
    ax.barh(labels, [r["moves"] for r in rows][::-1], color=PALETTE[4], height=0.7)
    ax.set_xlabel(_("moves (same host, new provider)"))
    ax.tick_params(axis="y", labelsize=7)
    return _svg(fig)
