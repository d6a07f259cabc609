"""``hostwatch lookup``: prefix and origin AS for addresses, as CSV."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer


def lookup(
    table: Annotated[
        list[Path],
        typer.Option(
            "--table",
            "-t",
            help="Routing table (any supported format or a stored snapshot). Repeat to combine: "
            "each address is answered by the first table that covers it.",
            exists=True,
            dir_okay=False,
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
) -> None:
    """Print CSV "ip,prefix,origin_asn[,as_name,provider,country]" per address, in input order."""
    from hostwatch.net.routing import RoutingTable
    from hostwatch.net.routing.lookup_csv import write_lookup_csv

    tables = []
    for path in table:
        try:
            loaded = RoutingTable.load(path)
        except (OSError, ValueError) as exc:
            typer.echo(f"error: cannot read routing table {path}: {exc}", err=True)
            raise typer.Exit(1) from exc
        for issue in loaded.warnings[:20]:
            typer.echo(f"warning: {issue}", err=True)
        if len(loaded.warnings) > 20:
            typer.echo(f"warning: {path}: {len(loaded.warnings) - 20} more problems", err=True)
        tables.append(loaded)
    if ips_file == "-":
        text = sys.stdin.read()
    else:
        text = Path(ips_file).read_text(encoding="utf-8", errors="replace")
    numbered = [(n, line.strip()) for n, line in enumerate(text.splitlines(), 1) if line.strip()]
    columns = []
    if details:
        from hostwatch.attribution.lookup_columns import ReferenceColumns
        from hostwatch.settings import get_settings

        columns.append(ReferenceColumns(get_settings()))
    answers = write_lookup_csv(sys.stdout, tables, [line for _, line in numbered], columns=columns)
    sys.stdout.flush()
    for position, bad in answers.malformed[:20]:
        typer.echo(f"{ips_file}:{numbered[position][0]}: not an IP address: {bad!r}", err=True)
    if len(answers.malformed) > 20:
        typer.echo(f"{len(answers.malformed) - 20} more lines are not IP addresses", err=True)


def register(app: typer.Typer) -> None:
    app.command("lookup")(lookup)
