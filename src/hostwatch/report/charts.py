"""The report's figures, drawn with matplotlib from aggregates (never one point per case).

Each function returns SVG text; the report embeds it as a data URI so the HTML needs no network
and WeasyPrint draws the same vectors into the PDF. Names on axes are plain text in SVG, which
matplotlib escapes, and never markup.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
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


def survival_chart(curves: Sequence[dict[str, Any]], horizon: float = 168.0) -> str:
    """Share still online against hours since the clock start, with bands where computed."""
    fig, ax = _figure()
    for i, curve in enumerate(curves):
        hours = np.asarray(curve["hours"])
        colour = PALETTE[i % len(PALETTE)]
        ax.step(
            hours,
            curve["survival"],
            where="post",
            color=colour,
            lw=2.2 if i == 0 else 1.3,
            label=_short(f"{curve['label']} (n={curve['n']:,})"),
        )
        low, high = np.asarray(curve["ci_low"]), np.asarray(curve["ci_high"])
        if np.isfinite(low).any():
            ax.fill_between(hours, low, high, step="post", color=colour, alpha=0.15, lw=0)
    ax.axvline(24, color="#444", ls="--", lw=0.8)
    ax.text(24.5, 0.97, "24 h", fontsize=8, va="top")
    ax.set_xlim(0, horizon)
    ax.set_ylim(0, 1.01)
    ax.set_xticks(np.arange(0, horizon + 1, 24))
    ax.set_xlabel("hours since the clock start")
    ax.set_ylabel("share still online")
    ax.legend(fontsize=7, frameon=False, loc="upper right")
    return _svg(fig)


def bucket_chart(rows: Sequence[dict[str, Any]]) -> str:
    """Stacked bars per provider: removed within 1 h, 1-12 h, 12-24 h, 24-48 h, later/never."""
    labels = [_short(str(r["group"])) for r in rows][::-1]
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
    fig, ax = _figure(7.5, max(2.2, 0.26 * len(rows) + 1.0))
    left = np.zeros(len(rows))
    names = ["≤ 1 h", "1–12 h", "12–24 h", "24–48 h", "> 48 h or not yet"]
    for k, name in enumerate(names):
        ax.barh(labels, parts[:, k], left=left, color=BUCKET_COLOURS[k], label=name, height=0.7)
        left += parts[:, k]
    ax.set_xlim(0, 1)
    ax.set_xlabel("share of cases")
    ax.tick_params(axis="y", labelsize=7)
    ax.legend(ncol=5, fontsize=7, frameon=False, loc="lower center", bbox_to_anchor=(0.4, 1.0))
    return _svg(fig)


def lorenz_chart(lorenz: dict[str, list[float]], gini: float | None) -> str:
    fig, ax = _figure(4.2, 3.6)
    ax.plot([0, 1], [0, 1], color="#999", lw=0.8, ls="--", label="equal shares")
    ax.plot(
        lorenz["x"],
        lorenz["y"],
        color=PALETTE[0],
        lw=2,
        label=f"Lorenz curve (Gini {gini:.2f})" if gini is not None else "Lorenz curve",
    )
    ax.set_xlabel("share of providers (smallest first)")
    ax.set_ylabel("share of reported URLs")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.legend(fontsize=7, frameon=False, loc="upper left")
    return _svg(fig)


def size_chart(rows: Sequence[dict[str, Any]], denominator: str) -> str:
    """Observed against expected counts (log-log) with the ratio intervals as vertical bars."""
    fig, ax = _figure(6.0, 4.2)
    expected = np.array([r["expected"] for r in rows])
    observed = np.array([r["observed"] for r in rows], dtype=float)
    low = np.array([r["ratio_low"] for r in rows]) * expected
    high = np.array([r["ratio_high"] for r in rows]) * expected
    flags = [r["flag"] for r in rows]
    floor = 0.5
    colours = [
        "#d32f2f" if f == "more than expected" else "#1a7f37" if f else "#9e9e9e" for f in flags
    ]
    ax.vlines(
        expected, np.maximum(low, floor), np.maximum(high, floor), colors=colours, lw=0.8, alpha=0.6
    )
    ax.scatter(expected, np.maximum(observed, floor), c=colours, s=10, zorder=3)
    span = [max(min(expected.min(), 1.0), 0.1), max(expected.max(), observed.max(), 10) * 1.5]
    ax.plot(span, span, color="#444", lw=0.8, ls="--")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(f"expected URLs given size ({denominator})")
    ax.set_ylabel("observed URLs (0 drawn at 0.5)")
    ax.text(
        0.02,
        0.97,
        "red: interval above 1 · green: below 1 · grey: not flagged",
        transform=ax.transAxes,
        fontsize=7,
        va="top",
    )
    return _svg(fig)


def trend_chart(overall: Sequence[dict[str, Any]], groups: Sequence[dict[str, Any]]) -> str:
    """Share removed within 24 h per quarter: all cases and the largest providers."""
    fig, ax = _figure(7.5, 4.2)
    quarters = [r["quarter"] for r in overall]
    ax.plot(
        quarters,
        [r["removed_within_24h"] for r in overall],
        color="#000",
        lw=2.2,
        marker="o",
        label="all cases",
    )
    names = sorted({g["group"] for g in groups})
    for i, name in enumerate(names[:8]):
        points = [g for g in groups if g["group"] == name]
        ax.plot(
            [p["quarter"] for p in points],
            [p["removed_within_24h"] for p in points],
            color=PALETTE[(i + 1) % len(PALETTE)],
            lw=1,
            marker=".",
            label=_short(name, 28),
        )
    ax.set_ylim(0, 1.01)
    ax.set_ylabel("removed within 24 h")
    ax.tick_params(axis="x", labelsize=7, rotation=45)
    ax.legend(fontsize=6.5, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.28), ncol=3)
    return _svg(fig)


def volume_chart(overall: Sequence[dict[str, Any]]) -> str:
    fig, ax = _figure(7.5, 2.4)
    ax.bar([r["quarter"] for r in overall], [r["n"] for r in overall], color=PALETTE[0])
    ax.set_ylabel("cases")
    ax.tick_params(axis="x", labelsize=7, rotation=45)
    return _svg(fig)


def flow_chart(rows: Sequence[dict[str, Any]]) -> str:
    """The largest provider-to-provider moves as horizontal bars labelled 'from → to'."""
    labels = [
        f"{_short(str(r['from_provider']), 24)} → {_short(str(r['to_provider']), 24)}" for r in rows
    ][::-1]
    fig, ax = _figure(7.5, max(2.0, 0.26 * len(rows) + 0.8))
    ax.barh(labels, [r["moves"] for r in rows][::-1], color=PALETTE[4], height=0.7)
    ax.set_xlabel("moves (same host, new provider)")
    ax.tick_params(axis="y", labelsize=7)
    return _svg(fig)
