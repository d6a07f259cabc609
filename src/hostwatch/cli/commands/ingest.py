"""``hostwatch ingest`` (notice files into the database) and ``hostwatch export notices``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from hostwatch.settings import get_settings

if TYPE_CHECKING:
    from rich.console import Console

    from hostwatch.ingest.pipeline import IngestReport

FORMATS = (
    "auto", "csv", "jsonl", "intelmq", "xarf", "phishtank", "urlhaus", "openphish",
    "phishtank-lifetimes", "urlhaus-intervals",
)  # fmt: skip
EXPORT_FORMATS = ("csv", "jsonl", "parquet")


def _choice(value: str, choices: tuple[str, ...], name: str) -> str:
    if value not in choices:
        raise typer.BadParameter(f"{value!r} is not one of: {', '.join(choices)}", param_hint=name)
    return value


def _delimiter(value: str | None) -> str | None:
    if value is None:
        return None
    value = {"\\t": "\t", "tab": "\t", "TAB": "\t"}.get(value, value)
    if len(value) != 1:
        raise typer.BadParameter("one character (or 'tab', '\\t')", param_hint="--delimiter")
    return value


def ingest(
    files: Annotated[list[Path], typer.Argument(help="Notice files (plain, .gz, .bz2, .xz).")],
    format: Annotated[
        str, typer.Option("--format", "-f", help=f"One of: {', '.join(FORMATS)}.")
    ] = "auto",
    source: Annotated[
        str | None, typer.Option(help="Source name for the notices (default: by format).")
    ] = None,
    rejects: Annotated[
        Path | None,
        typer.Option(help="Rejects CSV (default: <state_dir>/rejects/<file>.<time>.csv)."),
    ] = None,
    url_column: Annotated[str | None, typer.Option(help="CSV/JSONL: URL column.")] = None,
    time_column: Annotated[str | None, typer.Option(help="CSV/JSONL: time column.")] = None,
    ip_column: Annotated[str | None, typer.Option(help="CSV/JSONL: IP column.")] = None,
    classification_column: Annotated[
        str | None, typer.Option(help="CSV/JSONL: classification column.")
    ] = None,
    reference_column: Annotated[
        str | None, typer.Option(help="CSV/JSONL: reporter reference column.")
    ] = None,
    delimiter: Annotated[
        str | None, typer.Option(help="CSV delimiter (default: sniffed from the header).")
    ] = None,
    classification: Annotated[
        str | None, typer.Option(help="Classification for notices whose format has none.")
    ] = None,
) -> None:
    """Read notice files into the database; bad lines go to a rejects file, never a traceback."""
    from rich.console import Console
    from rich.markup import escape
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

    from hostwatch.ingest.detect import FormatUndecided
    from hostwatch.ingest.pipeline import ingest_file
    from hostwatch.ingest.readers import FormatError, ReadOptions
    from hostwatch.model.db import migrate

    _choice(format, FORMATS, "--format")
    options = ReadOptions(
        url_column=url_column,
        time_column=time_column,
        ip_column=ip_column,
        classification_column=classification_column,
        reference_column=reference_column,
        delimiter=_delimiter(delimiter),
        classification=classification,
    )
    settings = get_settings()
    clock = settings.clock()
    console = Console(stderr=True, soft_wrap=True)
    migrate(settings.database_url)
    failed = 0
    for path in files:
        if not path.is_file():
            console.print(f"[red]{escape(str(path))}: no such file[/red]")
            failed += 1
            continue
        stamp = clock.now().strftime("%Y%m%dT%H%M%SZ")
        rejects_path = rejects or settings.state_dir / "rejects" / f"{path.name}.{stamp}.csv"
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=True,
        ) as bar:
            task = bar.add_task(path.name, total=path.stat().st_size)
            try:
                report = ingest_file(
                    path,
                    settings.database_url,
                    format=format,
                    source=source,
                    options=options,
                    rejects_path=rejects_path,
                    clock=clock,
                    progress=lambda done, total, task=task: bar.update(
                        task, completed=done, total=total
                    ),
                )
            except (FormatUndecided, FormatError) as exc:
                bar.stop()
                console.print(f"[red]{escape(str(path))}: {escape(str(exc))}[/red]")
                failed += 1
                continue
        _summary(console, report)
    if failed:
        raise typer.Exit(1)


def _summary(console: Console, report: IngestReport) -> None:
    from rich.markup import escape

    console.print(
        f"{escape(str(report.path))} {escape(f'[{report.format}, source {report.source}]')}: "
        f"{report.lines:,} lines, {report.accepted:,} new notices, "
        f"{report.duplicates:,} already known, {report.rejected:,} rejected"
        + (f", {report.observations:,} listings" if report.observations else "")
    )
    for reason, count in sorted(report.reasons.items(), key=lambda item: -item[1])[:10]:
        console.print(f"  rejected {count:,} x {escape(reason)}")
    if report.rejects_path:
        console.print(f"  rejects written to {escape(str(report.rejects_path))}")
    if report.stream_error:
        console.print(f"[yellow]  input ended early: {escape(report.stream_error)}[/yellow]")


def export_notices(
    format: Annotated[
        str, typer.Option("--format", "-f", help=f"One of: {', '.join(EXPORT_FORMATS)}.")
    ] = "csv",
    out: Annotated[
        Path | None, typer.Option(help="Output file (default: standard output; not parquet).")
    ] = None,
) -> None:
    """Write all notices out with IntelMQ field names (CSV is safe against formula injection)."""
    from hostwatch.ingest.export import export_notices as write

    _choice(format, EXPORT_FORMATS, "--format")
    if format == "parquet" and out is None:
        raise typer.BadParameter("parquet needs --out PATH", param_hint="--out")
    count = write(get_settings().database_url, format, out if out is not None else sys.stdout)
    if out is not None:
        typer.echo(f"{count:,} notices written to {out}", err=True)


def register(app: typer.Typer) -> None:
    app.command("ingest")(ingest)
    export_app = typer.Typer(help="Write records out in exchange formats.", no_args_is_help=True)
    export_app.command("notices")(export_notices)
    app.add_typer(export_app, name="export")
