"""``hostwatch triage``: the queue of notices waiting for an analyst, and the verdicts.

An analyst judges each reported location in the hotline's own secured environment; hostwatch
shows the URL as text, what the source said and what the liveness checks saw, never content.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer

triage_app = typer.Typer(
    help="Triage before notice: the queue of unassessed reports and the analysts' verdicts.",
    no_args_is_help=True,
)


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code=2)


@triage_app.command("list")
def triage_list(
    output: Annotated[str, typer.Option("--format", help="table | json | csv")] = "table",
    limit: Annotated[
        int | None, typer.Option(min=1, help="At most this many, oldest first.")
    ] = None,
) -> None:
    """The cases whose notices wait for a verdict, oldest first, and the queue's figures."""
    from hostwatch.model.db import migrate, session_scope
    from hostwatch.settings import get_settings
    from hostwatch.takedown.triage import pending, queue_figures

    if output not in ("table", "json", "csv"):
        raise _fail(f"--format {output!r}: use table, json or csv")
    settings = get_settings()
    migrate(settings.database_url)
    now = settings.clock().now()
    with session_scope(settings.database_url) as session:
        rows = [item.as_dict() for item in pending(session, now, limit=limit)]
        figures = queue_figures(session, now)
    if output == "json":
        typer.echo(json.dumps({"queue": figures, "cases": rows}, indent=2, ensure_ascii=True))
        return
    if output == "csv":
        import sys

        from hostwatch.csv_safety import SafeDictWriter

        columns = list(rows[0]) if rows else ["case_id"]
        writer = SafeDictWriter(sys.stdout, columns)
        writer.writeheader()
        for row in rows:
            writer.writerow({**row, "sources": " ".join(row["sources"])})  # type: ignore[arg-type]
        return
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from hostwatch.takedown.compose import display_url

    table = Table("case", "waiting h")
    table.add_column("url", overflow="fold", min_width=24)
    for name in ("reported as", "sources", "last check", "provider"):
        table.add_column(name)
    for row in rows:
        seen = row["last_check_online"]
        table.add_row(
            str(row["case_id"]),
            f"{row['waiting_hours']:.1f}",
            escape(display_url(str(row["url"]))),
            escape(str(row["reported_classification"] or "")),
            escape(", ".join(row["sources"])),  # type: ignore[arg-type]
            "" if seen is None else ("online" if seen else "offline"),
            escape(str(row["provider"] or "")),
        )
    console = Console()
    console.print(table)
    oldest = figures["oldest_hours"]
    console.print(
        f"{figures['waiting']} waiting"
        + (
            f", oldest {oldest:.1f} h, median {figures['median_age_hours']:.1f} h"
            if oldest is not None
            else ""
        )
    )


@triage_app.command("decide")
def triage_decide(
    case_ids: Annotated[list[int], typer.Argument(help="The cases (one or many: bulk).")],
    analyst: Annotated[str, typer.Option(help="Who decides (audited; never in a notice).")],
    illegal: Annotated[bool, typer.Option("--illegal", help="Illegal: the notice goes.")] = False,
    not_illegal: Annotated[
        bool, typer.Option("--not-illegal", help="Not illegal: closed, no notice.")
    ] = False,
    not_reachable: Annotated[
        bool,
        typer.Option("--not-reachable", help="The analyst could not reach it: closed, no notice."),
    ] = False,
    classification: Annotated[
        str | None, typer.Option(help="With --illegal: the category, e.g. csam, terrorism.")
    ] = None,
    legal_basis: Annotated[
        str | None,
        typer.Option(help="With --illegal: the law it breaks, e.g. 'Art. 252 Sr (NL)'."),
    ] = None,
) -> None:
    """Record one verdict for the given cases, all or none."""
    from hostwatch.model.db import migrate, session_scope
    from hostwatch.settings import get_settings
    from hostwatch.takedown.triage import (
        ILLEGAL,
        NOT_ILLEGAL,
        NOT_REACHABLE,
        Decision,
        TriageError,
        decide,
    )

    flags = {ILLEGAL: illegal, NOT_ILLEGAL: not_illegal, NOT_REACHABLE: not_reachable}
    chosen = [verdict for verdict, flag in flags.items() if flag]
    if len(chosen) != 1:
        raise _fail("give exactly one of --illegal, --not-illegal, --not-reachable")
    settings = get_settings()
    migrate(settings.database_url)
    decision = Decision(chosen[0], classification, legal_basis)
    try:
        with session_scope(settings.database_url) as session:
            cases = decide(session, case_ids, decision, analyst=analyst, now=settings.clock().now())
            done = [(case.id, case.state) for case in cases]
    except TriageError as exc:
        raise _fail(str(exc)) from exc
    for case_id, state in done:
        typer.echo(f"case {case_id}: {chosen[0]} ({state})")


def register(app: typer.Typer) -> None:
    app.add_typer(triage_app, name="triage")
