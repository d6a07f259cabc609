"""The service commands: serve, API tokens, audit verification, watchlist, verified access.

``hostwatch access grant`` links a provider to its verified assets (the ``providers`` group
belongs to attribution, so verified ownership has its own group).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from hostwatch.settings import Settings, get_settings

tokens_app = typer.Typer(
    help="API tokens: create (shown once), list, revoke.", no_args_is_help=True
)
audit_app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)
watchlist_app = typer.Typer(help="Known bad resellers and networks.", no_args_is_help=True)
access_app = typer.Typer(
    help="Verified provider ownership (ASNs, prefixes, WHOIS orgs).", no_args_is_help=True
)
err = Console(stderr=True)


def _database() -> str:
    from hostwatch.model.db import migrate

    url = get_settings().database_url
    migrate(url)
    return url


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
    log_level: Annotated[str, typer.Option(help="debug, info, warning, error.")] = "info",
) -> None:
    """Run the API, provider feed and portal (uvicorn).

    With ``--workers N`` each worker process gets these settings as the arguments of the app
    factory (uvicorn pickles it into the worker); nothing is written to the environment.
    """
    from functools import partial

    import uvicorn
    from uvicorn.supervisors import Multiprocess

    from hostwatch.web.app import WATCHLIST_INTERVAL, create_app
    from hostwatch.web.logs import configure_logging

    _database()
    configure_logging(log_level)
    settings = get_settings()
    options = {
        "host": host,
        "port": port,
        "access_log": False,
        "log_config": None,
        "log_level": log_level,
        "server_header": False,
    }
    if workers == 1:
        app = create_app(settings, watchlist_interval=WATCHLIST_INTERVAL)
        uvicorn.run(app, **options)
        return
    config = uvicorn.Config(
        partial(worker_app, settings, log_level),
        factory=True,
        workers=workers,
        timeout_worker_healthcheck=WORKER_START_SECONDS,
        **options,
    )
    Multiprocess(config, sockets=[config.bind_socket()]).run()


WORKER_START_SECONDS = 30
"""How long a new worker may take to answer uvicorn's first health check: on a loaded machine
importing the app took more than uvicorn's 5 s, and the parent killed every worker it started."""


def worker_app(settings: Settings, log_level: str) -> Any:
    """The app factory each ``serve --workers N`` process calls, settings in its arguments.

    Defined here, in a module the worker has already imported, so that unpickling the factory is
    cheap and the heavy import of the web app happens once the worker answers health checks.
    """
    from hostwatch.web.app import serve_app

    return serve_app(settings, log_level)


@tokens_app.command("create")
def tokens_create(
    role: Annotated[str, typer.Option(help="admin, analyst, researcher, regulator or provider.")],
    provider: Annotated[str | None, typer.Option(help="Provider name (role provider).")] = None,
    expires_days: Annotated[float | None, typer.Option(help="Expire after N days.")] = None,
    label: Annotated[str | None, typer.Option(help="Who or what holds the token.")] = None,
) -> None:
    """Create a token; it is printed once, on the last line, and stored only as a hash."""
    from hostwatch.model.db import session_scope
    from hostwatch.web.auth import create_token

    url = _database()
    settings = get_settings()
    try:
        with session_scope(url) as session:
            new = create_token(
                session,
                role=role,
                now=settings.clock().now(),
                provider_name=provider,
                expires_days=expires_days,
                label=label,
            )
    except ValueError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    expiry = new.expires_at.isoformat() if new.expires_at else "never"
    typer.echo(f"token {new.id} for role {new.role}; expires {expiry}; shown only now:")
    typer.echo(new.token)


@tokens_app.command("list")
def tokens_list() -> None:
    """List tokens (never their values)."""
    from hostwatch.model.db import session_scope
    from hostwatch.web.auth import list_tokens

    table = Table("id", "role", "provider", "label", "created", "expires", "revoked", "last used")
    with session_scope(_database()) as session:
        for t in list_tokens(session):
            table.add_row(
                str(t.id),
                t.role,
                str(t.provider_id or ""),
                t.label or "",
                f"{t.created_at:%Y-%m-%d %H:%M}",
                f"{t.expires_at:%Y-%m-%d %H:%M}" if t.expires_at else "",
                f"{t.revoked_at:%Y-%m-%d %H:%M}" if t.revoked_at else "",
                f"{t.last_used_at:%Y-%m-%d %H:%M}" if t.last_used_at else "",
            )
    Console().print(table)


@tokens_app.command("revoke")
def tokens_revoke(
    token_id: Annotated[int, typer.Argument(help="Token id from `tokens list`.")],
) -> None:
    """Revoke a token at once."""
    from hostwatch.model.db import session_scope
    from hostwatch.web.auth import revoke_token

    try:
        with session_scope(_database()) as session:
            revoke_token(session, token_id, get_settings().clock().now())
    except ValueError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    typer.echo(f"token {token_id} revoked")


@audit_app.command("verify")
def audit_verify() -> None:
    """Recompute the audit-log hash chain; exit 1 naming the first bad event if it is broken."""
    from hostwatch.model.db import session_scope
    from hostwatch.web.dossier import chain_head

    with session_scope(get_settings().database_url) as session:
        head = chain_head(session)
    if not head.intact:
        err.print(f"[red]audit chain broken at event {head.first_break}[/red]")
        typer.echo(f"broken at event {head.first_break}")
        raise typer.Exit(1)
    typer.echo(f"audit chain intact: {head.events} events; head {head.last_id} {head.last_hash}")


@watchlist_app.command("import")
def watchlist_import(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    list_name: Annotated[str, typer.Option("--list", help="Name of the warning list.")],
) -> None:
    """Import entries (CSV kind,value[,note] or one AS/prefix/name per line)."""
    from hostwatch.model.db import session_scope
    from hostwatch.web.watchlist import import_watchlist

    with session_scope(_database()) as session:
        result = import_watchlist(session, file, list_name, get_settings().clock().now())
    for reject in result.rejects[:50]:
        err.print(f"[yellow]{file}: {reject}[/yellow]")
    typer.echo(
        f"{result.added} added, {result.unchanged} already listed, {len(result.rejects)} rejected"
    )


@watchlist_app.command("list")
def watchlist_list() -> None:
    """Show the entries."""
    from sqlalchemy import select

    from hostwatch.model.db import session_scope
    from hostwatch.model.service import WatchlistEntry

    table = Table("list", "kind", "value", "note")
    with session_scope(_database()) as session:
        for e in session.scalars(select(WatchlistEntry).order_by(WatchlistEntry.id)):
            table.add_row(e.list_name, e.kind, e.value, e.note or "")
    Console().print(table)


@watchlist_app.command("scan")
def watchlist_scan() -> None:
    """Match attributions added since the last scan; each hit becomes an audit-log alert."""
    from hostwatch.model.db import session_scope
    from hostwatch.web.watchlist import scan

    with session_scope(_database()) as session:
        found = scan(session, get_settings().clock().now())
    typer.echo(f"{found} watchlist alert(s)")


@access_app.command("grant")
def access_grant(
    provider: Annotated[str, typer.Argument(help="Provider name.")],
    asn: Annotated[list[str] | None, typer.Option(help="AS number (repeatable).")] = None,
    prefix: Annotated[list[str] | None, typer.Option(help="CIDR prefix (repeatable).")] = None,
    org: Annotated[list[str] | None, typer.Option(help="WHOIS organisation (repeatable).")] = None,
) -> None:
    """Verify that PROVIDER holds these assets: its users then see cases on them."""
    from hostwatch.model.db import session_scope
    from hostwatch.web.access import grant

    try:
        with session_scope(_database()) as session:
            assets = grant(
                session,
                provider,
                asns=asn or [],
                prefixes=prefix or [],
                orgs=org or [],
                now=get_settings().clock().now(),
            )
            lines = [f"{a.kind} {a.value}" for a in assets]
    except ValueError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    typer.echo(f"verified for {provider}: " + ", ".join(lines))


@access_app.command("revoke")
def access_revoke(
    provider: Annotated[str, typer.Argument(help="Provider name.")],
    kind: Annotated[str, typer.Argument(help="asn, prefix or org.")],
    value: Annotated[str, typer.Argument(help="The asset.")],
) -> None:
    """Withdraw the verification of one asset."""
    from hostwatch.model.db import session_scope
    from hostwatch.web.access import revoke

    try:
        with session_scope(_database()) as session:
            n = revoke(session, provider, kind, value, now=get_settings().clock().now())
    except ValueError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    typer.echo(f"{n} asset(s) unverified")


@access_app.command("list")
def access_list(provider: Annotated[str, typer.Argument(help="Provider name.")]) -> None:
    """Show a provider's assets and which are verified."""
    from hostwatch.model.db import session_scope
    from hostwatch.web.access import assets_of

    table = Table("kind", "value", "verified", "source")
    try:
        with session_scope(_database()) as session:
            for a in assets_of(session, provider):
                table.add_row(a.kind, a.value, "yes" if a.verified else "no", a.source)
    except ValueError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    Console().print(table)


def digests() -> None:
    """Queue today's digest for every provider with open cases (sent by `hostwatch run`)."""
    from hostwatch.model.db import session_scope
    from hostwatch.web.feed import queue_digests

    settings = get_settings()
    with session_scope(_database()) as session:
        created = queue_digests(session, settings, settings.clock().now())
    typer.echo(f"{len(created)} digest message(s) queued")


def register(app: typer.Typer) -> None:
    app.command("digests")(digests)
    app.command()(serve)
    app.add_typer(tokens_app, name="tokens")
    app.add_typer(audit_app, name="audit")
    app.add_typer(watchlist_app, name="watchlist")
    app.add_typer(access_app, name="access")
