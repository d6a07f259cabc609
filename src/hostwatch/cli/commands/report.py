"""``hostwatch report``: the monitor report (HTML and PDF) with its exports."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from hostwatch.cli.measure_window import period_and_sizes
from hostwatch.settings import Settings, get_settings


def report(
    period: Annotated[
        str | None, typer.Option(help="2024, 2024Q1 or FROM..TO (ISO dates); default all data.")
    ] = None,
    country: Annotated[
        str | None, typer.Option(help="Country of the national total (default: settings).")
    ] = None,
    out: Annotated[Path, typer.Option(help="Folder for report.html, report.pdf, CSVs.")] = Path(
        "report"
    ),
    sizes: Annotated[
        Path | None,
        typer.Option(
            help="Provider sizes, JSON or CSV (provider, ipv4, ipv6_48, domains); default: the "
            "address space each provider announces in the routing snapshot."
        ),
    ] = None,
    denominator: Annotated[str, typer.Option(help="Size column for the size model.")] = "ipv4",
    simulated: Annotated[bool, typer.Option(help="Label every page as simulated data.")] = False,
    show_urls: Annotated[
        bool, typer.Option(help="Name URLs in the slow-tail table (internal reports only).")
    ] = False,
    pdf: Annotated[bool, typer.Option(help="Also write report.pdf.")] = True,
) -> None:
    """Write the monitor report for a period from the database."""
    from rich.console import Console

    from hostwatch.report.build import ReportOptions
    from hostwatch.report.source import report_from_database

    settings = get_settings()
    chosen, size_map = period_and_sizes(settings, period, sizes)
    audit_head = _audit_head(settings)
    options = ReportOptions(
        country=country or settings.country,
        sizes=size_map,
        size_denominator=denominator,
        simulated=simulated,
        pseudonym_key=settings.pseudonym_key,
        show_urls=show_urls,
        generated_at=settings.clock().now(),
        audit_head=audit_head,
    )
    console = Console(stderr=True)
    with console.status("computing the report"):
        try:
            files = report_from_database(
                settings.database_url,
                chosen,
                out,
                options,
                offline_after=settings.offline_after,
                pdf=pdf,
            )
        except ValueError as exc:
            console.print(f"error: {exc}")
            raise typer.Exit(2) from exc
    for path in (files.html, files.pdf, files.cases_csv, files.researcher_csv, files.providers_csv):
        if path is not None:
            console.print(f"wrote {path}")


def _audit_head(settings: Settings) -> dict[str, Any]:
    """The audit log's head the report is built on: signed and kept when a key is configured."""
    from hostwatch.model.audit_heads import optional_key, published_head
    from hostwatch.model.db import migrate, session_scope

    try:
        key = optional_key(settings.audit_key_file)
    except (OSError, ValueError) as exc:
        typer.echo(f"error: audit key: {exc}", err=True)
        raise typer.Exit(2) from exc
    migrate(settings.database_url)
    with session_scope(settings.database_url) as session:
        return published_head(session, key, settings.clock().now())


def register(app: typer.Typer) -> None:
    app.command("report")(report)
