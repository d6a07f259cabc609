"""``hostwatch metrics``: takedown time, exposure, concentration, size, trends, displacement, the
data quality the figures stand on, and the reachability of abuse desks."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from hostwatch.cli.measure_window import period_and_sizes
from hostwatch.settings import get_settings


class Measure(StrEnum):
    takedown = "takedown"
    exposure = "exposure"
    concentration = "concentration"
    size = "size"
    trends = "trends"
    displacement = "displacement"
    quality = "quality"
    reachability = "reachability"
    ownership = "ownership"


class By(StrEnum):
    provider = "provider"
    reseller = "reseller"
    asn = "asn"
    country = "country"


class Format(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"
    parquet = "parquet"


def metrics(
    measure: Annotated[Measure, typer.Argument(help="What to compute.")],
    period: Annotated[
        str | None, typer.Option(help="2024, 2024Q1 or FROM..TO (ISO dates); default all data.")
    ] = None,
    by: Annotated[By, typer.Option(help="Group per provider, reseller, AS or country.")] = (
        By.provider
    ),
    country: Annotated[
        str | None, typer.Option(help="Country of the national total (default: settings).")
    ] = None,
    sizes: Annotated[
        Path | None,
        typer.Option(
            help="Provider sizes, JSON or CSV (provider, ipv4, ipv6_48, domains); default: the "
            "address space each provider announces in the routing snapshot."
        ),
    ] = None,
    denominator: Annotated[str, typer.Option(help="Size column for the size model.")] = "ipv4",
    format: Annotated[Format, typer.Option("--format", help="Output format.")] = Format.table,
    out: Annotated[Path | None, typer.Option(help="Write here instead of stdout.")] = None,
    exclude_stale: Annotated[
        bool,
        typer.Option(
            help="Leave out episodes whose attribution is stale (a snapshot or DNS answer too "
            "far from the notice's time)."
        ),
    ] = False,
) -> None:
    """Compute one measure from the database and print or write it."""
    import json

    from hostwatch.metrics.frame import load_frame
    from hostwatch.metrics.tables import MeasureResult
    from hostwatch.metrics.tables import measure as compute

    settings = get_settings()
    chosen, size_map = period_and_sizes(settings, period, sizes)
    extra = None
    if measure is Measure.quality:
        from hostwatch.metrics.quality import load_quality, quality_table

        doc = load_quality(
            settings.database_url,
            chosen,
            offline_after=settings.offline_after,
            now=settings.clock().now(),
        )
        result = MeasureResult(quality_table(doc), doc)
    elif measure is Measure.reachability:
        from hostwatch.metrics.reachability import load_reachability, reachability_table

        doc = load_reachability(settings.database_url, chosen)
        result = MeasureResult(reachability_table(doc), doc)
    elif measure is Measure.ownership or (measure is Measure.takedown and by is By.reseller):
        result, extra = _ownership(settings, chosen, measure, country, exclude_stale)
    else:
        frame = load_frame(
            settings.database_url,
            chosen,
            offline_after=settings.offline_after,
            exclude_stale=exclude_stale,
        )
        try:
            result = compute(
                frame,
                measure.value,
                by=by.value,
                country=country or settings.country,
                sizes=size_map,
                denominator=denominator,
            )
        except ValueError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from exc
    if format is Format.json:
        text = json.dumps({"period": chosen.label, **result.document}, default=str, indent=2)
        _emit(text, out)
    elif format is Format.csv:
        from hostwatch.csv_safety import write_frame_csv

        _emit(write_frame_csv(result.table) or "", out)
    elif format is Format.parquet:
        if out is None:
            raise typer.BadParameter("parquet needs --out PATH", param_hint="--out")
        result.table.write_parquet(out)
    else:
        _print_table(result.table, f"{measure.value} ({chosen.label})")
        if extra is not None:
            _print_table(extra, f"resellers beside their network holders ({chosen.label})")


def _ownership(
    settings: object, chosen: object, measure: Measure, country: str | None, exclude_stale: bool
) -> tuple[object, object]:
    """``metrics ownership`` and ``metrics takedown --by reseller``: both read the parties of
    each URL's attribution beside the frame (hostwatch.metrics.ownership)."""
    from hostwatch.metrics import ownership
    from hostwatch.metrics.frame import load_frame
    from hostwatch.metrics.tables import MeasureResult
    from hostwatch.metrics.tables import measure as compute

    database_url = settings.database_url  # type: ignore[attr-defined]
    frame = load_frame(
        database_url,
        chosen,  # type: ignore[arg-type]
        offline_after=settings.offline_after,  # type: ignore[attr-defined]
        exclude_stale=exclude_stale,
    )
    parties = ownership.load_parties(database_url)
    national = country or settings.country  # type: ignore[attr-defined]
    if measure is Measure.ownership:
        doc = ownership.ownership_report(frame, parties, national)
        resellers = ownership.reseller_table(frame, parties, national)
        shown = ["reseller", "network_holder", "episodes", "urls", "removed_within_24h"]
        return MeasureResult(ownership.levels_table(doc), doc), resellers.select(shown)
    result = compute(frame, "takedown", by="reseller")
    table = ownership.with_network_holders(result.table, frame, parties)
    result.document["resellers"] = table.to_dicts()
    return MeasureResult(table, result.document), None


def _emit(text: str, out: Path | None) -> None:
    if out is None:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    else:
        out.write_text(text, encoding="utf-8")


def _cell(value: object) -> str:
    return "" if value is None else f"{value:.4g}" if isinstance(value, float) else str(value)


def _print_table(table: object, title: str) -> None:
    """A table where it fits the terminal; otherwise one block of ``field  value`` lines per
    row (as psql's expanded display), since two dozen columns folded into an 80-column terminal
    leave nothing legible."""
    import polars as pl
    from rich.console import Console
    from rich.table import Table

    assert isinstance(table, pl.DataFrame)
    console = Console()
    rows = [[_cell(v) for v in row] for row in table.head(200).iter_rows()]
    widths = [
        max([len(name), *(len(row[i]) for row in rows)]) for i, name in enumerate(table.columns)
    ]
    if sum(widths) + 3 * len(widths) + 1 <= console.width:
        view = Table(title=title)
        for name in table.columns:
            view.add_column(name, overflow="fold")
        for row in rows:
            view.add_row(*row)
        console.print(view)
        return
    console.print(title, style="bold")
    for number, row in enumerate(rows, 1):
        record = Table(title=f"[{number}]", show_header=False, title_justify="left")
        record.add_column(style="bold")
        record.add_column(overflow="fold")
        for name, value in zip(table.columns, row, strict=True):
            record.add_row(name, value)
        console.print(record)


def register(app: typer.Typer) -> None:
    app.command("metrics")(metrics)
