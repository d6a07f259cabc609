"""``hostwatch lookup``: prefix and origin AS for addresses, as CSV."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer


def lookup(
    table: Annotated[
        list[str],
        typer.Option(
            "--table",
            "-t",
            help="Routing table: the name it was imported under (hostwatch data list), or a file "
            "in any supported format. Repeat to combine: each address is answered by the first "
            "table that covers it.",
        ),
    ],
    ips_file: Annotated[
        str, typer.Argument(help="File with one address per line, or '-' for stdin.")
    ] = "-",
    details: Annotated[
        bool,
        typer.Option(
            help="Add as_name,provider,country from the catalogued reference data (hostwatch "
            "data import) and the providers in the database."
        ),
    ] = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="List every problem found in the tables.")
    ] = False,
) -> None:
    """Print CSV "ip,prefix,origin_asn[,as_name,provider,country]" per address, in input order."""
    from hostwatch.net.fetch.store import ReferenceStore
    from hostwatch.net.routing import RoutingTable
    from hostwatch.net.routing.issues import summary_line
    from hostwatch.net.routing.lookup_csv import write_lookup_csv
    from hostwatch.settings import get_settings

    settings = get_settings()
    store = ReferenceStore.under(settings.state_dir)
    tables = []
    for given in table:
        try:
            path = store.routing_table_path(given)
            loaded = RoutingTable.load(path)
        except (OSError, ValueError) as exc:
            typer.echo(f"error: cannot read routing table {given}: {exc}", err=True)
            raise typer.Exit(1) from exc
        if verbose:
            for issue in loaded.warnings:
                typer.echo(f"warning: {issue}", err=True)
        else:
            line = summary_line(given, loaded.warnings)
            if line:
                typer.echo(f"warning: {line}; --verbose lists them", err=True)
        tables.append(loaded)
    if ips_file == "-":
        text = sys.stdin.read()
    else:
        text = Path(ips_file).read_text(encoding="utf-8", errors="replace")
    numbered = [(n, line.strip()) for n, line in enumerate(text.splitlines(), 1) if line.strip()]
    columns = []
    if details:
        from hostwatch.attribution.lookup_columns import ReferenceColumns
        from hostwatch.attribution.reference import sync_reference_store
        from hostwatch.model.db import migrate, session_scope

        migrate(settings.database_url)  # files imported since the last run are catalogued first
        with session_scope(settings.database_url) as session:
            sync_reference_store(session, settings.state_dir, loaded_at=settings.clock().now())
        columns.append(ReferenceColumns(settings))
    answers = write_lookup_csv(sys.stdout, tables, [line for _, line in numbered], columns=columns)
    sys.stdout.flush()
    for position, bad in answers.malformed[:20]:
        typer.echo(f"{ips_file}:{numbered[position][0]}: not an IP address: {bad!r}", err=True)
    if len(answers.malformed) > 20:
        typer.echo(f"{len(answers.malformed) - 20} more lines are not IP addresses", err=True)


def register(app: typer.Typer) -> None:
    app.command("lookup")(lookup)
