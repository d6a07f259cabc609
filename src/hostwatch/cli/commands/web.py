"""The service commands: serve, API tokens, audit verification, watchlist, verified access.

``hostwatch access grant`` links a provider to its verified assets (the ``providers`` group
belongs to attribution, so verified ownership has its own group).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from hostwatch.settings import Settings, get_settings

if TYPE_CHECKING:
    from hostwatch.model.audit_heads import HeadKey

tokens_app = typer.Typer(
    help="API tokens: create (shown once), list, revoke.", no_args_is_help=True
)
audit_app = typer.Typer(
    help="The audit log: signed heads, verification, inclusion proofs.", no_args_is_help=True
)
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
    workers: Annotated[
        int | None,
        typer.Option(
            min=1,
            show_default="one per CPU core this process may use",
            help="Worker processes.",
        ),
    ] = None,
    log_level: Annotated[str, typer.Option(help="debug, info, warning, error.")] = "info",
) -> None:
    """Run the API, provider feed and portal (uvicorn).

    One worker process per usable core by default: a process serves requests on one core at a
    time (the GIL), so one worker left the second core of a 2-core host idle under load. With
    ``--workers N`` each worker process gets these settings as the arguments of the app factory
    (uvicorn pickles it into the worker); nothing is written to the environment.
    """
    from functools import partial

    import uvicorn
    from uvicorn.supervisors import Multiprocess

    from hostwatch.web.app import WATCHLIST_INTERVAL, create_app
    from hostwatch.web.logs import configure_logging

    _database()
    configure_logging(log_level)
    settings = get_settings()
    workers = workers or usable_cores()
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


def usable_cores() -> int:
    """The CPU cores this process may run on (its affinity, which a container's cpuset limits)."""
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


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


def _audit_key(required: bool) -> HeadKey | None:
    """The signing key of the settings; exit 2 when it is needed and missing or unreadable."""
    from hostwatch.model.audit_heads import optional_key

    path = get_settings().audit_key_file
    if path is None and required:
        err.print("[red]error:[/red] set HOSTWATCH_AUDIT_KEY_FILE (see `hostwatch audit keygen`)")
        raise typer.Exit(2)
    try:
        return optional_key(path)
    except (OSError, ValueError) as exc:
        err.print(f"[red]error:[/red] audit key: {exc}")
        raise typer.Exit(2) from exc


@audit_app.command("keygen")
def audit_keygen(
    out: Annotated[Path, typer.Option(help="Where to write the new key (PEM, mode 0600).")],
) -> None:
    """Create an Ed25519 key for signing heads; point HOSTWATCH_AUDIT_KEY_FILE at it."""
    from hostwatch.model.audit_heads import HeadKey

    try:
        key = HeadKey.generate(out)
    except FileExistsError as exc:
        err.print(f"[red]error:[/red] {out} exists; a signing key is never overwritten")
        raise typer.Exit(2) from exc
    typer.echo(f"wrote {out}; key_id {key.key_id}")


@audit_app.command("head")
def audit_head() -> None:
    """Sign the log's current size and root, keep the head, print it as JSON."""
    from hostwatch.model.audit_heads import sign_head
    from hostwatch.model.db import session_scope

    key = _audit_key(required=True)
    assert key is not None
    with session_scope(_database()) as session:
        head = sign_head(session, key, get_settings().clock().now())
    typer.echo(json.dumps(head.as_dict(), indent=2))


@audit_app.command("verify")
def audit_verify(
    head: Annotated[
        Path | None,
        typer.Option(
            exists=True,
            dir_okay=False,
            help="A head printed by `audit head`: exit 1 unless the log still extends it.",
        ),
    ] = None,
) -> None:
    """Recompute every leaf and the root, check every signed head; exit 1 naming the first bad
    index (and event) if the log was changed, cut or forked."""
    from hostwatch.model.audit_heads import SignedHead
    from hostwatch.model.audit_verify import verify_log
    from hostwatch.model.db import session_scope

    given = None
    if head is not None:
        try:
            given = SignedHead.from_dict(json.loads(head.read_text()))
        except ValueError as exc:  # JSONDecodeError is one
            err.print(f"[red]error:[/red] {head}: {exc}")
            raise typer.Exit(2) from exc
    key = _audit_key(required=given is not None)
    with session_scope(_database()) as session:
        check = verify_log(session, key, given)
    first = check.first_problem
    if first is not None:
        where = f"event {first.event_id}, index {first.index}" if first.event_id else None
        typer.echo(f"audit log broken at {where or f'index {first.index}'}: {first.message}")
        for problem in sorted(check.problems, key=lambda p: p.index)[1:]:
            typer.echo(f"  also at {problem}")
        raise typer.Exit(1)
    signed = "" if key else " (signatures not checked: no HOSTWATCH_AUDIT_KEY_FILE)"
    extends = f"; extends the head of {given.tree_size} events" if given else ""
    typer.echo(
        f"audit log intact: {check.tree_size} events; root {check.root_hash}; "
        f"{check.heads_checked} stored head(s) checked{signed}{extends}"
    )


@audit_app.command("proof")
def audit_proof(event_id: Annotated[int, typer.Argument(help="Audit event id.")]) -> None:
    """Print an RFC 9162 inclusion proof of one event in the current tree as JSON."""
    from hostwatch.model.audit_verify import inclusion
    from hostwatch.model.db import session_scope

    try:
        with session_scope(_database()) as session:
            proof = inclusion(session, event_id)
    except LookupError as exc:
        err.print(f"[red]error:[/red] {exc.args[0]}")
        raise typer.Exit(2) from exc
    except ValueError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from exc
    typer.echo(json.dumps(proof, indent=2))


@watchlist_app.command("import")
def watchlist_import(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    list_name: Annotated[str, typer.Option("--list", help="Name of the warning list.")],
) -> None:
    """Import entries (CSV kind,value[,note] or one AS/prefix/name per line)."""
    from hostwatch.attribution.watchlist import import_watchlist
    from hostwatch.model.db import session_scope

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
    from hostwatch.attribution.watchlist import scan
    from hostwatch.model.db import session_scope

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
    from hostwatch.attribution.assets import AssetRules, verify
    from hostwatch.model.db import session_scope

    settings = get_settings()
    wanted = [("asn", v) for v in asn or []] + [("prefix", v) for v in prefix or []]
    wanted += [("org", v) for v in org or []]
    try:
        with session_scope(_database()) as session:
            assets = verify(
                session,
                provider,
                wanted,
                now=settings.clock().now(),
                rules=AssetRules.allowing(settings.allow_networks),
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
    """Withdraw the verification of one asset (it stays a manual one)."""
    from hostwatch.attribution.assets import AssetRules, unverify
    from hostwatch.model.db import session_scope

    settings = get_settings()
    try:
        with session_scope(_database()) as session:
            n = unverify(
                session,
                provider,
                kind,
                value,
                now=settings.clock().now(),
                rules=AssetRules.allowing(settings.allow_networks),
            )
    except ValueError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    typer.echo(f"{n} asset(s) unverified")


@access_app.command("list")
def access_list(provider: Annotated[str, typer.Argument(help="Provider name.")]) -> None:
    """Show a provider's assets and their standing (only verified ones open cases)."""
    from hostwatch.attribution.assets import assets_of
    from hostwatch.model.db import session_scope

    table = Table("kind", "value", "standing", "provenance")
    try:
        with session_scope(_database()) as session:
            for a in assets_of(session, provider):
                table.add_row(a.kind, a.value, a.standing, a.provenance or "")
    except ValueError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    Console().print(table)


def digests() -> None:
    """Queue today's digest for every provider with open cases (sent by `hostwatch run`)."""
    from hostwatch.model.db import session_scope
    from hostwatch.takedown.provider_feed import queue_digests

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
