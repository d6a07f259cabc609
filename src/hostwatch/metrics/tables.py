"""One entry point per ``hostwatch metrics`` subcommand: a table and a JSON-ready document.

Each measure returns both shapes from the same computation, so ``--format table|csv|parquet``
and ``--format json`` always carry the same numbers.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from hostwatch.metrics import concentration, displacement, exposure, size, takedown, trends
from hostwatch.metrics.groups import PLURAL

MEASURES = ("takedown", "exposure", "concentration", "size", "trends", "displacement")


@dataclass
class MeasureResult:
    table: pl.DataFrame
    document: dict[str, Any]


def read_sizes(path: Path) -> dict[str, dict[str, float]]:
    """Provider sizes from JSON (``{"name": {"ipv4": n, ...}}``) or CSV (provider, ipv4, ...).

    Bad rows are reported with their line number; the good rest is kept.
    """
    if path.suffix.lower() == ".json":
        raw = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(raw, dict):
            raise ValueError(f"{path}: expected an object mapping provider -> sizes")
        return {str(k): {kk: float(vv) for kk, vv in v.items()} for k, v in raw.items()}
    frame = pl.read_csv(path, infer_schema_length=0)
    if "provider" not in frame.columns:
        raise ValueError(f"{path}: needs a 'provider' column")
    out: dict[str, dict[str, float]] = {}
    problems = []
    for line, row in enumerate(frame.iter_rows(named=True), start=2):
        name = row.pop("provider")
        try:
            out[str(name)] = {k: float(v) for k, v in row.items() if v not in (None, "")}
        except ValueError as exc:
            problems.append(f"{path}:{line}: {exc}")
    if problems and not out:
        raise ValueError("; ".join(problems))
    return out


def _rows(table: pl.DataFrame) -> list[dict[str, Any]]:
    return [
        {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in row.items()}
        for row in table.to_dicts()
    ]


def measure(
    frame: pl.DataFrame,
    name: str,
    *,
    by: str = "provider",
    country: str = "NL",
    sizes: Mapping[str, Mapping[str, float]] | None = None,
    denominator: str = "ipv4",
) -> MeasureResult:
    """Compute one measure over the frame, grouped ``by`` where that applies."""
    if name == "takedown":
        table = takedown.takedown_table(frame, by).rename({"group": by})
        overall = takedown.figures(frame)
        return MeasureResult(table, {**overall, "by": by, PLURAL[by]: _rows(table)})
    if name == "exposure":
        table = exposure.exposure_table(frame, by, country).rename({"group": by})
        totals = exposure.exposure_totals(frame, country)
        return MeasureResult(table, {**totals, "by": by, PLURAL[by]: _rows(table)})
    if name == "concentration":
        doc = concentration.concentration_report(frame, by)
        summary = {k: v for k, v in doc.items() if k != "lorenz"}
        return MeasureResult(pl.DataFrame([summary]), doc)
    if name == "size":
        if not sizes:
            raise ValueError("the size measure needs provider sizes: pass --sizes FILE")
        observed = dict(frame.group_by("provider").agg(pl.col("url_id").n_unique()).iter_rows())
        table, params = size.size_table(observed, sizes, denominator)
        return MeasureResult(table, {"model": params, "providers": _rows(table)})
    if name == "trends":
        doc = trends.quarterly(frame, by)
        table = pl.DataFrame(doc["overall"]) if doc["overall"] else pl.DataFrame()
        return MeasureResult(table, doc)
    if name == "displacement":
        flows = displacement.flows(frame, "host")
        party = "reseller" if by in ("provider", "reseller") else by
        repeats = displacement.repeat_offences(frame, party)
        return MeasureResult(
            flows, {"flows": _rows(flows), "repeat_offences": {party: _rows(repeats)}}
        )
    raise ValueError(f"unknown measure {name!r}; choose one of {', '.join(MEASURES)}")
