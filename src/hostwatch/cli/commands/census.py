"""``hostwatch census``: check and attribute every URL of a list once, and count the states."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer


class CensusFormat(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


def census(
    file: Annotated[
        Path,
        typer.Argument(
            help="A list of URLs (one a line) or any file hostwatch ingest reads.",
            exists=True,
            dir_okay=False,
        ),
    ],
    format: Annotated[
        CensusFormat, typer.Option("--format", help="table, json or csv (one row per group).")
    ] = CensusFormat.table,
) -> None:
    """Check every URL of FILE once (content-free) and attribute it; report online, offline,
    not checkable and inconclusive by provider, reseller and country. Opens no case, sends
    nothing, writes nothing to the database."""
    import json

    from rich.console import Console

    from hostwatch.census import run_census
    from hostwatch.settings import get_settings

    settings = get_settings()
    err = Console(stderr=True, markup=False, highlight=False)
    try:
        with _progress(err) as step:
            result = run_census(file, settings, progress=step)
    except ValueError as exc:
        err.print(f"error: {exc}")
        raise typer.Exit(1) from exc
    for problem in result.problems:
        err.print(f"{file}: line {problem.line}: {problem.reason} (skipped)")
    if format is CensusFormat.json:
        typer.echo(json.dumps(result.as_dict(), ensure_ascii=False, indent=1))
    elif format is CensusFormat.csv:
        from hostwatch.csv_safety import write_frame_csv

        typer.echo(write_frame_csv(result.long_table()), nl=False)
    else:
        _print_tables(result)
    err.print(
        f"{result.rows.height:,} distinct URLs from {result.lines:,} lines checked in "
        f"{sum(result.seconds.values()):.1f} s; {len(result.problems):,} lines skipped"
    )


def _progress(console: Any) -> Any:
    """A Rich progress bar on stderr (stdout carries the result); yields the step callback."""
    from contextlib import contextmanager

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    @contextmanager
    def bar() -> Any:
        with Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=True,
        ) as progress:
            task = progress.add_task("checking URLs", total=None)

            def step(done: int, total: int) -> None:
                if done == 1 or done % 100 == 0 or done == total:
                    progress.update(task, completed=done, total=total)

            yield step

    return bar()


def _print_tables(result: Any) -> None:
    from rich.console import Console
    from rich.table import Table

    from hostwatch.census import DIMENSIONS, STATES

    console = Console(markup=False, highlight=False)
    totals = result.totals()
    summary = Table(
        title=f"Census of {totals['urls']:,} URLs ({result.checked_at:%Y-%m-%d %H:%M} UTC)"
    )
    for name in ("urls", *STATES):
        summary.add_column(name, justify="right")
    summary.add_row(*(f"{totals[name]:,}" for name in ("urls", *STATES)))
    console.print(summary)
    for dimension in DIMENSIONS:
        table = Table(title=f"by {dimension}")
        table.add_column(dimension)
        for name in ("urls", *STATES):
            table.add_column(name, justify="right")
        for row in result.by(dimension).iter_rows(named=True):
            table.add_row(row["name"], *(f"{row[name]:,}" for name in ("urls", *STATES)))
        console.print(table)


def register(app: typer.Typer) -> None:
    app.command("census")(census)
