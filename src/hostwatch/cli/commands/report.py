"""``hostwatch report``: the monitor report (HTML and PDF) with its exports, and
``hostwatch report reply add|list``: the providers' responses printed in it."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from hostwatch.cli.measure_window import period_and_sizes
from hostwatch.settings import Settings, get_settings

report_app = typer.Typer(
    invoke_without_command=True,
    help="Write the monitor report for a period; `report reply` keeps providers' responses.",
)
reply_app = typer.Typer(help="Providers' responses (right of reply), printed in the report.")
report_app.add_typer(reply_app, name="reply")


class EditionName(StrEnum):
    public = "public"
    restricted = "restricted"


class Language(StrEnum):
    en = "en"
    nl = "nl"


@report_app.callback()
def report(
    ctx: typer.Context,
    period: Annotated[
        str | None, typer.Option(help="2024, 2024Q1 or FROM..TO (ISO dates); default all data.")
    ] = None,
    edition: Annotated[
        EditionName,
        typer.Option(
            help="public: no URL, host, IP or person, small providers grouped; restricted "
            "(regulator, hotline): URLs and hosts, marked on every page."
        ),
    ] = EditionName.public,
    lang: Annotated[Language, typer.Option(help="Language of the report.")] = Language.en,
    out: Annotated[Path, typer.Option(help="Folder for report.html, report.pdf, CSVs.")] = Path(
        "report"
    ),
    pdf: Annotated[bool, typer.Option(help="Also write report.pdf.")] = True,
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
    simulated: Annotated[bool, typer.Option(help="Label every page as simulated data.")] = False,
) -> None:
    """Write the monitor report for a period from the database."""
    if ctx.invoked_subcommand is not None:
        return
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
        edition=edition.value,
        lang=lang.value,
        min_cases=settings.report_min_cases,
        publisher=settings.report_publisher,
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
    for path in files.written():
        console.print(f"wrote {path}")


@reply_app.command("add")
def reply_add(
    provider: Annotated[str, typer.Argument(help="The provider's name as the report prints it.")],
    period: Annotated[str, typer.Option(help="The report's period: 2024, 2024Q1 or FROM..TO.")],
    text: Annotated[
        str | None, typer.Option(help="The response as received (or use --file).")
    ] = None,
    file: Annotated[
        Path | None, typer.Option(help="Read the response from this UTF-8 text file.")
    ] = None,
    entered_by: Annotated[str | None, typer.Option(help="Who entered it (analyst).")] = None,
) -> None:
    """Store a provider's response to the report of PERIOD."""
    from hostwatch.metrics.period import parse_period
    from hostwatch.model.db import migrate, session_scope
    from hostwatch.report.replies import add_reply

    if (text is None) == (file is None):
        raise typer.BadParameter("give the response with exactly one of --text or --file")
    try:
        label = parse_period(period).label
        body = text if text is not None else file.read_text(encoding="utf-8")  # type: ignore[union-attr]
    except (ValueError, OSError) as exc:
        raise typer.BadParameter(str(exc)) from exc
    settings = get_settings()
    migrate(settings.database_url)
    with session_scope(settings.database_url) as session:
        try:
            reply = add_reply(
                session, provider, label, body, settings.clock().now(), entered_by=entered_by
            )
        except ValueError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from exc
        typer.echo(f"reply {reply.id} stored for {reply.provider} ({label})")


@reply_app.command("list")
def reply_list(
    period: Annotated[str, typer.Option(help="The report's period: 2024, 2024Q1 or FROM..TO.")],
) -> None:
    """The responses stored for PERIOD, as the report will print them."""
    from rich.console import Console
    from rich.table import Table

    from hostwatch.metrics.period import parse_period
    from hostwatch.model.db import migrate, session_scope
    from hostwatch.report.replies import replies_for

    try:
        label = parse_period(period).label
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    settings = get_settings()
    migrate(settings.database_url)
    with session_scope(settings.database_url) as session:
        rows = replies_for(session, label)
    table = Table("id", "provider", "entered", "by", "text", title=f"replies for {label}")
    for r in rows:
        table.add_row(
            str(r["id"]),
            r["provider"],
            r["entered_at"].strftime("%Y-%m-%d %H:%M"),
            r["entered_by"] or "",
            r["text"],
        )
    if not rows:
        typer.echo(f"no replies for {label}")
        return
    Console().print(table, markup=False)


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
    app.add_typer(report_app, name="report")
