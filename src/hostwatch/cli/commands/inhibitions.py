"""Do-not-notify rules: add, list, remove, and why a case got no notice."""

from __future__ import annotations

import json
from typing import Annotated

import typer

inhibitions_app = typer.Typer(
    help="Do-not-notify rules per ASN, prefix, provider or classification.", no_args_is_help=True
)
_ACTOR = typer.Option("--actor", help="Who does this, for the audit log.")


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code=2)


@inhibitions_app.command("add")
def inhibitions_add(
    reason: Annotated[str, typer.Option(help="Why no notice may go out (kept in the audit log).")],
    asn: Annotated[str | None, typer.Option(help="Origin AS, e.g. AS64500.")] = None,
    prefix: Annotated[str | None, typer.Option(help="Network the address lies in.")] = None,
    provider: Annotated[str | None, typer.Option(help="A provider's name.")] = None,
    classification: Annotated[str | None, typer.Option(help="e.g. phishing.")] = None,
    days: Annotated[float | None, typer.Option(help="Expires this many days from now.")] = None,
    until: Annotated[
        str | None, typer.Option(help="Expires at this instant (ISO 8601, with a zone).")
    ] = None,
    actor: Annotated[str, _ACTOR] = "cli",
) -> None:
    """Add a rule (exactly one of --asn, --prefix, --provider, --classification); prints its id."""
    from datetime import datetime, timedelta

    from hostwatch.model.db import migrate, session_scope
    from hostwatch.settings import get_settings
    from hostwatch.takedown.inhibitions import InhibitionError, add_inhibition

    given = {
        k: v
        for k, v in (
            ("asn", asn),
            ("prefix", prefix),
            ("provider", provider),
            ("classification", classification),
        )
        if v is not None
    }
    if len(given) != 1:
        raise _fail("give exactly one of --asn, --prefix, --provider, --classification")
    if (days is None) == (until is None):
        raise _fail("give exactly one of --days and --until")
    settings = get_settings()
    migrate(settings.database_url)
    now = settings.clock().now()
    if until is not None:
        try:
            expires_at = datetime.fromisoformat(until.replace("Z", "+00:00"))
        except ValueError as exc:
            raise _fail(f"--until {until!r}: {exc}") from exc
        if expires_at.tzinfo is None:
            raise _fail("--until needs a zone, e.g. 2025-01-01T00:00Z")
    else:
        expires_at = now + timedelta(days=days or 0)
    ((kind, value),) = given.items()
    try:
        with session_scope(settings.database_url) as session:
            rule = add_inhibition(
                session,
                kind=kind,
                value=value,
                reason=reason,
                expires_at=expires_at,
                actor=actor,
                now=now,
            )
            shown = value if kind == "provider" else rule.value
            typer.echo(f"inhibition {rule.id}: {kind} {shown} until {expires_at.isoformat()}")
    except InhibitionError as exc:
        raise _fail(str(exc)) from exc


@inhibitions_app.command("list")
def inhibitions_list(
    everything: Annotated[
        bool, typer.Option("--all", help="Also expired and removed rules.")
    ] = False,
    output: Annotated[str, typer.Option("--format", help="table | json")] = "table",
) -> None:
    """The rules in force (or all), with how many cases each has kept back."""
    from rich.console import Console
    from rich.table import Table

    from hostwatch.model.db import migrate, session_scope
    from hostwatch.settings import get_settings
    from hostwatch.takedown.inhibitions import list_inhibitions

    settings = get_settings()
    migrate(settings.database_url)
    with session_scope(settings.database_url) as session:
        rows = [
            v.as_dict()
            for v in list_inhibitions(session, settings.clock().now(), everything=everything)
        ]
    if output == "json":
        typer.echo(json.dumps(rows, indent=2))
        return
    fields = ("id", "kind", "value", "reason", "expires_at", "status", "cases_held")
    table = Table(*fields)
    for row in rows:
        table.add_row(*(str(row[f]) for f in fields))
    Console().print(table)


@inhibitions_app.command("remove")
def inhibitions_remove(
    rule_id: Annotated[int, typer.Argument(help="The rule's id (see list).")],
    actor: Annotated[str, _ACTOR] = "cli",
) -> None:
    """End a rule now; the cases it kept back are due for their notice at once."""
    from hostwatch.model.db import migrate, session_scope
    from hostwatch.settings import get_settings
    from hostwatch.takedown.inhibitions import InhibitionError, remove_inhibition

    settings = get_settings()
    migrate(settings.database_url)
    try:
        with session_scope(settings.database_url) as session:
            remove_inhibition(session, rule_id, actor=actor, now=settings.clock().now())
    except InhibitionError as exc:
        raise _fail(str(exc)) from exc
    typer.echo(f"inhibition {rule_id} removed")


@inhibitions_app.command("why")
def inhibitions_why(case_id: Annotated[int, typer.Argument(help="A case id.")]) -> None:
    """Why a case's notices were kept back: each time a rule held it, with the rule's reason."""
    from hostwatch.model.case import Case
    from hostwatch.model.db import migrate, session_scope
    from hostwatch.settings import get_settings
    from hostwatch.takedown.inhibitions import case_inhibitions

    settings = get_settings()
    migrate(settings.database_url)
    with session_scope(settings.database_url) as session:
        if session.get(Case, case_id) is None:
            raise _fail(f"no case {case_id}")
        events = case_inhibitions(session, case_id)
        lines = [
            f"{e.at.isoformat()} held by inhibition {e.data['inhibition']} "
            f"({e.data['kind']} {e.data['value']}) until {e.data['until']}: {e.reason}"
            for e in events
        ]
    typer.echo("\n".join(lines) if lines else f"case {case_id}: no notice was ever inhibited")


def register(app: typer.Typer) -> None:
    app.add_typer(inhibitions_app, name="inhibitions")
