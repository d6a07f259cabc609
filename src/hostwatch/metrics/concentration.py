"""Concentration: is reported material spread over many hosters or held by a few?

Top-k share, the Herfindahl-Hirschman index (on the 0-10,000 scale competition authorities use),
the Gini coefficient and the Lorenz curve, all of one count per party (URLs by default).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from hostwatch.metrics.frame import UNATTRIBUTED
from hostwatch.metrics.groups import with_group


def concentration(counts: np.ndarray, top: tuple[int, ...] = (1, 5, 10)) -> dict[str, Any]:
    values = np.sort(np.asarray(counts, dtype=np.float64))[::-1]
    values = values[values > 0]
    total = values.sum()
    if total == 0:
        return {
            "parties": 0,
            "total": 0,
            "hhi": None,
            "gini": None,
            **{f"top{k}_share": None for k in top},
            "lorenz": {"x": [0.0], "y": [0.0]},
        }
    shares = values / total
    ascending = values[::-1]
    n = len(ascending)
    cum = np.concatenate(([0.0], np.cumsum(ascending) / total))
    gini = float(1.0 - (cum[1:] + cum[:-1]).sum() / n) if n > 1 else 0.0
    x = np.linspace(0.0, 1.0, n + 1)
    if n + 1 > 201:  # plots need the shape, not every party
        pick = np.unique(np.round(np.linspace(0, n, 201)).astype(int))
        x, cum = x[pick], cum[pick]
    return {
        "parties": int(n),
        "total": float(total),
        "hhi": float((shares**2).sum() * 10_000),
        "gini": gini,
        **{f"top{k}_share": float(shares[:k].sum()) for k in top},
        "lorenz": {"x": x.tolist(), "y": cum.tolist()},
    }


def concentration_report(
    frame: pl.DataFrame, by: str = "provider", measure: str = "urls"
) -> dict[str, Any]:
    """Concentration of distinct URLs (or ``episodes``) over the attributed groups of ``by``."""
    grouped = with_group(frame, by).filter(pl.col("group") != UNATTRIBUTED)
    agg = pl.col("url_id").n_unique() if measure == "urls" else pl.len()
    counts = grouped.group_by("group").agg(agg.alias("count"))
    return {"by": by, "measure": measure, **concentration(counts["count"].to_numpy())}
