"""``hostwatch sources``: each source's trust level (assessed: NTD at once; unassessed: triage)."""

from __future__ import annotations

import json
from typing import Annotated

import typer

sources_app = typer.Typer(
    help="Sources of notices and their trust level (assessed or unassessed).",
    no_args_is_help=True,
)


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code=2)


@sources_app.command("list")
def sources_list(
    output: Annotated[str, typer.Option("--format", help="table | json")] = "table",
) -> None:
    """Every source configured or named by a notice, its trust level and where it comes from."""
    from hostwatch.ingest.sources import list_sources
    from hostwatch.model.db import migrate, session_scope
    from hostwatch.settings import get_settings

    if output not in ("table", "json"):
        raise _fail(f"--format {output!r}: use table or json")
    settings = get_settings()
    migrate(settings.database_url)
    with session_scope(settings.database_url) as session:
        views = list_sources(session)
    if output == "json":
        typer.echo(json.dumps([v.as_dict() for v in views], indent=2, ensure_ascii=True))
        return
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    table = Table("source", "trust", "set by", "formats", "notices", "last received")
    for v in views:
        how = f"{v.set_by} ({v.set_at:%Y-%m-%d})" if v.configured and v.set_at else "default"
        table.add_row(
            escape(v.name),
            v.trust,
            escape(how),
            ", ".join(v.formats),
            str(v.notices),
            f"{v.last_received_at:%Y-%m-%d %H:%M}" if v.last_received_at else "",
        )
    Console().print(table)


@sources_app.command("set")
def sources_set(
    name: Annotated[str, typer.Argument(help="The source name, as notices carry it.")],
    assessed: Annotated[
        bool,
        typer.Option(
            "--assessed/--unassessed",
            help="Assessed: its reports were judged already, notices go at once. "
            "Unassessed: its notices wait for an analyst's verdict.",
        ),
    ],
    actor: Annotated[str, typer.Option("--by", help="Who sets it (audited).")] = "cli",
) -> None:
    """Set a source's trust level; applies to cases opened from now on."""
    from hostwatch.ingest.sources import set_trust
    from hostwatch.model.db import migrate, session_scope
    from hostwatch.settings import get_settings

    settings = get_settings()
    migrate(settings.database_url)
    level = "assessed" if assessed else "unassessed"
    try:
        with session_scope(settings.database_url) as session:
            changed = set_trust(
                session, name, assessed=assessed, actor=actor, now=settings.clock().now()
            )
    except ValueError as exc:
        raise _fail(str(exc)) from exc
    typer.echo(f"source {name}: {level}" + ("" if changed else " (unchanged)"))


def register(app: typer.Typer) -> None:
    app.add_typer(sources_app, name="sources")
