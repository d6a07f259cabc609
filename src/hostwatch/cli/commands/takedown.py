"""Notice-and-takedown commands: contacts, run, worker, cases, bounces."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

contacts_app = typer.Typer(help="The contact book: whom notices go to.", no_args_is_help=True)
bounces_app = typer.Typer(help="Delivery status notifications read back.", no_args_is_help=True)

_POLICY = typer.Option("--policy", help="Policy TOML file (default: the shipped policy).")


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code=2)


@contacts_app.command("add")
def contacts_add(
    name: Annotated[str, typer.Option(help="Party name (a provider of that name is created).")],
    email: Annotated[str | None, typer.Option(help="Address notices go to.")] = None,
    network: Annotated[
        str | None, typer.Option(help="CIDR this contact covers; attributed to the provider.")
    ] = None,
    role: Annotated[
        str,
        typer.Option(
            help="provider | reseller | upstream | registrar | authority | hotline (a partner "
            "hotline abroad) | cert; referral targets are chosen by referrals.toml"
        ),
    ] = "provider",
    for_provider: Annotated[
        str | None, typer.Option(help="File under this existing provider (e.g. its upstream).")
    ] = None,
    domain: Annotated[str | None, typer.Option(help="Registrar: the domain it covers.")] = None,
    country: Annotated[
        str | None, typer.Option(help="Authority, hotline, CERT: its country (ISO 2).")
    ] = None,
    notes: Annotated[str | None, typer.Option(help="Free text for analysts.")] = None,
    do_not_notify: Annotated[bool, typer.Option(help="Never send to this contact.")] = False,
    police_route: Annotated[
        bool, typer.Option(help="Bad hoster: refer at once and notify up the chain, not it.")
    ] = False,
    preferred_format: Annotated[str, typer.Option("--format", help="email | xarf")] = "email",
    language: Annotated[str, typer.Option(help="Preferred language (ISO 639-1).")] = "en",
    group_hours: Annotated[
        float, typer.Option(help="Send this contact at most one message per this many hours.")
    ] = 0.0,
    channel: Annotated[
        str, typer.Option(help="email | webhook (signed HTTPS POST) | feed (no push).")
    ] = "email",
    webhook_url: Annotated[str | None, typer.Option(help="https:// URL for --channel webhook.")] = (
        None
    ),
    webhook_secret: Annotated[
        str | None, typer.Option(help="Signing secret (16+ characters); never shown back.")
    ] = None,
    new_secret: Annotated[
        bool, typer.Option(help="Generate a signing secret and print it once.")
    ] = False,
) -> None:
    """Add or update a manual contact; manual entries win over automatic ones."""
    import secrets

    from hostwatch.attribution.assets import AssetRules
    from hostwatch.model.db import migrate, session_scope
    from hostwatch.settings import get_settings
    from hostwatch.takedown.contacts import ContactError, ContactSpec, add_contact

    settings = get_settings()
    migrate(settings.database_url)
    spec = ContactSpec(
        name=name,
        email=email,
        network=network,
        role=role,
        domain=domain,
        country=country,
        notes=notes,
        do_not_notify=do_not_notify,
        police_route=police_route,
        preferred_format=preferred_format,
        language=language,
        group_interval_hours=group_hours,
        for_provider=for_provider,
        channel=channel,
        webhook_url=webhook_url,
        webhook_secret=secrets.token_urlsafe(32) if new_secret else webhook_secret,
    )
    try:
        with session_scope(settings.database_url) as session:
            contact = add_contact(
                session,
                spec,
                now=settings.clock().now(),
                rules=AssetRules.allowing(settings.allow_networks),
            )
            typer.echo(f"contact {contact.id}: {contact.name} <{contact.email or '-'}>")
            if new_secret:
                typer.echo(f"webhook secret (shown once): {spec.webhook_secret}")
    except ContactError as exc:
        raise _fail(str(exc)) from exc


@contacts_app.command("list")
def contacts_list(
    output: Annotated[str, typer.Option("--format", help="table | json")] = "table",
) -> None:
    """List every contact, manual and automatic, with its bounce count."""
    from rich.console import Console
    from rich.table import Table

    from hostwatch.model.db import migrate, session_scope
    from hostwatch.settings import get_settings
    from hostwatch.takedown.contacts import list_contacts

    settings = get_settings()
    migrate(settings.database_url)
    fields = ("id", "name", "role", "channel", "email", "webhook_url", "network", "domain")
    fields = (*fields, "country", "source")  # never the webhook secret
    flags = ("do_not_notify", "police_route", "bounce_count")
    with session_scope(settings.database_url) as session:
        rows = [
            {f: getattr(c, f) for f in (*fields, *flags, "provider_id")}
            for c in list_contacts(session)
        ]
    if output == "json":
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table(*fields, "flags", "bounces")
    for row in rows:
        marks = ",".join(f for f in ("do_not_notify", "police_route") if row[f])
        table.add_row(
            *(str(row[f]) if row[f] is not None else "" for f in fields),
            marks,
            str(row["bounce_count"]),
        )
    Console().print(table)


@contacts_app.command("import")
def contacts_import(
    path: Annotated[
        Path | None,
        typer.Argument(help="CSV of manual contacts; without it, re-import from attributions."),
    ] = None,
) -> None:
    """Import manual contacts from CSV, or refresh the automatic ones from attributions."""
    from hostwatch.attribution.assets import AssetRules
    from hostwatch.model.db import migrate, session_scope
    from hostwatch.settings import get_settings
    from hostwatch.takedown.contacts import (
        ContactError,
        add_contact,
        import_automatic,
        read_contacts_csv,
    )

    settings = get_settings()
    migrate(settings.database_url)
    now = settings.clock().now()
    rules = AssetRules.allowing(settings.allow_networks)
    if path is None:
        with session_scope(settings.database_url) as session:
            count = import_automatic(session, now=now)
        typer.echo(f"{count} automatic contacts refreshed from attributions")
        return
    try:
        specs, errors = read_contacts_csv(path, rules)
    except (ContactError, OSError) as exc:
        raise _fail(str(exc)) from exc
    stored = 0
    with session_scope(settings.database_url) as session:
        for spec in specs:
            try:
                with session.begin_nested():
                    add_contact(session, spec, now=now, actor="import", rules=rules)
                stored += 1
            except ContactError as exc:
                errors.append(f"{path}: {spec.name}: {exc}")
    for error in errors:
        typer.echo(error, err=True)
    typer.echo(f"{stored} contacts imported, {len(errors)} rejected")


def run(
    once: Annotated[
        bool, typer.Option("--once", help="One pass at the clock's now, then exit.")
    ] = False,
    policy: Annotated[Path | None, _POLICY] = None,
) -> None:
    """Run the notice-and-takedown workflow in this process (the embedded default)."""
    from rich.console import Console

    from hostwatch.clock import Clock
    from hostwatch.settings import get_settings
    from hostwatch.takedown.policy import PolicyError
    from hostwatch.takedown.scheduler import run_forever, run_once
    from hostwatch.takedown.workflow import PassReport

    settings = get_settings()
    # One pass happens at exactly --now; a long run moves on from it with real time.
    clock = Clock.at(settings.now) if once and settings.now else settings.clock()
    console = Console(stderr=True)

    def show(r: PassReport) -> None:
        console.print(
            f"{r.at.isoformat()}: attributed {r.attributed}, opened {r.opened}, "
            f"moved {r.moved}, messages {r.planned} planned / {r.delivered.sent} sent / "
            f"{r.delivered.tempfail} retry / {r.delivered.failed} failed, "
            f"checked {r.checked}; cases {dict(sorted(r.states.items()))}"
        )

    try:
        if once:
            show(run_once(settings, clock, policy_path=policy))
        else:
            run_forever(settings, clock, policy_path=policy, on_pass=show)
    except PolicyError as exc:
        raise _fail(str(exc)) from exc
    except KeyboardInterrupt:
        console.print("stopped")


def worker(
    concurrency: Annotated[int, typer.Option(min=1, help="Jobs run at once.")] = 4,
    policy: Annotated[Path | None, _POLICY] = None,
    periodic: Annotated[
        bool, typer.Option(help="Queue a pass every minute (off: passes come from outside).")
    ] = True,
    stalled_after: Annotated[
        float, typer.Option(help="Seconds without heartbeat before a worker's jobs are retried.")
    ] = 30.0,
) -> None:
    """Run a procrastinate worker on PostgreSQL; start as many as you like, anywhere."""
    from hostwatch.settings import get_settings
    from hostwatch.takedown.worker import run_worker

    settings = get_settings()
    if settings.is_sqlite:
        raise _fail("workers need PostgreSQL (HOSTWATCH_DATABASE_URL); on SQLite use `run`")
    run_worker(
        settings,
        concurrency=concurrency,
        policy_path=policy,
        periodic=periodic,
        stalled_after=stalled_after,
    )


def cases(
    output: Annotated[str, typer.Option("--format", help="table | json | csv")] = "table",
    state: Annotated[str | None, typer.Option(help="Only cases in this state.")] = None,
) -> None:
    """List cases with state, first message, removal time and takedown seconds."""
    from hostwatch.metrics.case_list import COLUMNS, case_rows
    from hostwatch.model.db import migrate, session_scope
    from hostwatch.settings import get_settings

    if output not in ("table", "json", "csv"):
        raise _fail(f"--format {output!r}: use table, json or csv")
    settings = get_settings()
    migrate(settings.database_url)
    with session_scope(settings.database_url) as session:
        rows = case_rows(session, state=state)
    if output == "json":
        typer.echo(json.dumps(rows, indent=2, ensure_ascii=True))
    elif output == "csv":
        import sys

        from hostwatch.csv_safety import SafeDictWriter

        writer = SafeDictWriter(sys.stdout, COLUMNS)
        writer.writeheader()
        for row in rows:
            writer.writerow(row)
    else:
        from rich.console import Console
        from rich.markup import escape
        from rich.table import Table

        shown = ("id", "url", "provider", "state", "first_message_at", "removed_at")
        table = Table(*shown, "takedown h")
        for row in rows:
            hours = row["takedown_seconds"]
            table.add_row(
                *(escape(str(row[c])) if row[c] is not None else "" for c in shown),
                f"{hours / 3600:.1f}" if hours is not None else "",
            )
        Console().print(table)


def release(
    case_id: Annotated[int, typer.Argument(help="The held (moved) case.")],
    reason: Annotated[str, typer.Option(help="Why the analyst releases it (audited).")],
    analyst: Annotated[str, typer.Option(help="Who decides.")] = "analyst",
) -> None:
    """Release a case held for an analyst (moved): notices and checks resume."""
    from hostwatch.model.case import Case
    from hostwatch.model.db import migrate, session_scope
    from hostwatch.settings import get_settings
    from hostwatch.takedown.cases import release as release_case
    from hostwatch.takedown.states import IllegalTransition

    settings = get_settings()
    migrate(settings.database_url)
    with session_scope(settings.database_url) as session:
        case = session.get(Case, case_id)
        if case is None or not case.held:
            raise _fail(f"case {case_id} is not held")
        try:
            release_case(session, case, now=settings.clock().now(), reason=reason, actor=analyst)
        except IllegalTransition as exc:
            raise _fail(str(exc)) from exc
        typer.echo(f"case {case_id}: {case.state}")


@bounces_app.command("read")
def bounces_read(
    path: Annotated[Path, typer.Argument(help="Maildir, mbox file, folder of .eml, or one file.")],
) -> None:
    """Read delivery status notifications and record bounces on messages and contacts."""
    from hostwatch.model.db import migrate, session_scope
    from hostwatch.settings import get_settings
    from hostwatch.takedown.bounces import record_bounces

    settings = get_settings()
    migrate(settings.database_url)
    try:
        with session_scope(settings.database_url) as session:
            report = record_bounces(session, path, now=settings.clock().now())
    except FileNotFoundError as exc:
        raise _fail(str(exc)) from exc
    for line in (*report.problems, *report.unmatched):
        typer.echo(line, err=True)
    typer.echo(
        f"{report.read} bounces read: {report.recorded} recorded, "
        f"{report.duplicates} already known, {len(report.unmatched)} unmatched"
    )


def register(app: typer.Typer) -> None:
    app.add_typer(contacts_app, name="contacts")
    app.add_typer(bounces_app, name="bounces")
    app.command()(run)
    app.command()(worker)
    app.command()(cases)
    app.command()(release)
