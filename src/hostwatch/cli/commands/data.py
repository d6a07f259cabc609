"""``hostwatch data``: fetch public reference data, import local copies, list the store."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from hostwatch.settings import get_settings

if TYPE_CHECKING:
    from hostwatch.net.fetch.run import Outcome

data_app = typer.Typer(help="Reference data: routing tables, AS organisations, RIR stats, WHOIS.")

_STYLE = {
    "downloaded": "green",
    "imported": "green",
    "present": "dim",
    "unchanged": "dim",
    "skipped": "yellow",
    "failed": "red",
}


def _printer(console: Console) -> object:
    def show(outcome: Outcome) -> None:
        style = _STYLE.get(outcome.status, "")
        where = str(outcome.path) if outcome.path else outcome.source
        detail = f" ({outcome.message})" if outcome.message else ""
        console.print(
            f"[{style}]{outcome.status:>10}[/] {outcome.kind or '?':<12} {where}{detail}",
            markup=True,
            highlight=False,
            soft_wrap=True,
        )

    return show


def _base_urls(values: list[str]) -> dict[str, str]:
    from hostwatch.net.fetch.sources import DEFAULT_BASE_URLS

    out = {}
    for value in values:
        name, sep, url = value.partition("=")
        if not sep or name not in DEFAULT_BASE_URLS or not url.startswith(("http://", "https://")):
            raise typer.BadParameter(
                f"{value!r}: expected NAME=URL with NAME one of {', '.join(DEFAULT_BASE_URLS)}",
                param_hint="--base-url",
            )
        out[name] = url
    return out


@data_app.command("fetch")
def fetch(
    kind: Annotated[
        list[str] | None,
        typer.Option(
            "--kind",
            "-k",
            help="rib, ris, pfx2as, as2org, delegated, ripedb, rdap-bootstrap (repeat).",
        ),
    ] = None,
    day: Annotated[
        str | None, typer.Option("--date", help="Day to fetch, YYYY-MM-DD (default: today).")
    ] = None,
    base_url: Annotated[
        list[str] | None,
        typer.Option("--base-url", help="Mirror for a source, NAME=URL, e.g. caida=http://..."),
    ] = None,
) -> None:
    """Download public reference data into <state_dir>/reference (needs the internet)."""
    from hostwatch.net.fetch.run import fetch_reference_data
    from hostwatch.net.fetch.sources import FETCH_KINDS
    from hostwatch.net.fetch.store import ReferenceStore

    kinds = kind or list(FETCH_KINDS)
    unknown = [k for k in kinds if k not in FETCH_KINDS]
    if unknown:
        raise typer.BadParameter(f"unknown kind {unknown[0]!r}", param_hint="--kind")
    try:
        wanted_day = date.fromisoformat(day) if day else None
    except ValueError as exc:
        raise typer.BadParameter(f"not a date: {day!r}", param_hint="--date") from exc
    from rich.progress import DownloadColumn, Progress, TransferSpeedColumn

    settings = get_settings()
    bases = _base_urls(base_url or [])
    with Progress(
        *Progress.get_default_columns(), DownloadColumn(), TransferSpeedColumn(), transient=True
    ) as bar:
        tasks: dict[str, object] = {}

        def advance(url: str, received: int, total: int | None) -> None:
            if url not in tasks:
                tasks[url] = bar.add_task(url.rsplit("/", 1)[-1], total=total)
            bar.update(tasks[url], completed=received, total=total)  # type: ignore[arg-type]

        outcomes = fetch_reference_data(
            ReferenceStore.under(settings.state_dir),
            kinds=kinds,
            day=wanted_day,
            base_urls=bases,
            clock=settings.clock(),
            report=_printer(bar.console),  # type: ignore[arg-type]
            progress=advance,
        )
    if any(o.failed for o in outcomes):
        raise typer.Exit(1)


@data_app.command("import")
def import_files(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders to import.")],
    kind: Annotated[
        str | None, typer.Option("--kind", "-k", help="Force the kind (default: by content).")
    ] = None,
    tag: Annotated[
        str | None,
        typer.Option(help="The tag of a bgp.tools tag list not named tags-<tag>.csv."),
    ] = None,
    day: Annotated[
        str | None,
        typer.Option(
            "--date", help="Day the data describes, YYYY-MM-DD, where content and name give none."
        ),
    ] = None,
    link: Annotated[bool, typer.Option(help="Hard-link instead of copying.")] = False,
) -> None:
    """Import local reference files into the store; the kind is recognised by content.

    Each file is read once as attribution will read it; routing tables are also stored in a
    binary form that `hostwatch lookup --table NAME` and attribution memory-map.
    """
    from hostwatch.net.fetch.detect import KINDS
    from hostwatch.net.fetch.run import import_reference_files
    from hostwatch.net.fetch.store import ReferenceStore

    if kind is not None and kind not in KINDS:
        raise typer.BadParameter(f"unknown kind {kind!r}; known: {', '.join(KINDS)}")
    try:
        given_day = date.fromisoformat(day) if day else None
    except ValueError as exc:
        raise typer.BadParameter(f"not a date: {day!r}", param_hint="--date") from exc
    settings = get_settings()
    outcomes = import_reference_files(
        ReferenceStore.under(settings.state_dir),
        paths,
        kind=kind,
        tag=tag,
        day=given_day,
        link=link,
        clock=settings.clock(),
        report=_printer(Console()),  # type: ignore[arg-type]
    )
    if any(o.failed for o in outcomes):
        raise typer.Exit(1)


@data_app.command("list")
def list_store(
    kind: Annotated[str | None, typer.Option("--kind", "-k", help="Only this kind.")] = None,
) -> None:
    """List the stored snapshots: the name each was imported under, kind, day, rows, file."""
    from hostwatch.net.fetch.store import ReferenceStore

    store = ReferenceStore.under(get_settings().state_dir)
    try:
        entries = store.entries(kind)
    except ValueError as exc:
        Console(stderr=True).print(str(exc), markup=False)
        raise typer.Exit(1) from exc
    table = Table("name", "kind", "day", "rows", "file", "bytes", "sha256", "source")
    for entry in entries:
        table.add_row(
            entry.shown_name,
            entry.kind,
            entry.snapshot or "",
            f"{entry.rows:,}" if entry.rows is not None else "",
            entry.binary or entry.path,
            f"{entry.size:,}",
            entry.sha256[:12],
            entry.source,
        )
    Console().print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(data_app, name="data")
