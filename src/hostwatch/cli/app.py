"""The ``hostwatch`` command: global options, then the commands every area registers.

Command modules live in :mod:`hostwatch.cli.commands`; each exposes ``register(app)``. A process
imports only the module of the command it runs (``hostwatch lookup`` loads neither the web app nor
the statistics stack), so one lookup costs about what the lookup itself costs. ``COMMANDS`` says
which module registers which top-level command; a module missing from it still works (an unknown
name loads every module), and tests/cli/test_startup.py checks the map against what the modules
register. The top-level ``--help`` (and a mistyped command) loads every module to list them all.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from hostwatch import __version__
from hostwatch.cli import commands

#: Top-level command name -> the module in :mod:`hostwatch.cli.commands` that registers it.
COMMANDS: dict[str, str] = {
    "migrate": "admin",
    "settings": "admin",
    "attribute": "attribution",
    "providers": "attribution",
    "data": "data",
    "demo": "demo",
    "inhibitions": "inhibitions",
    "ingest": "ingest",
    "export": "ingest",
    "lookup": "lookup",
    "metrics": "metrics",
    "orders": "orders",
    "sanctions": "orders",
    "report": "report",
    "census": "census",
    "sources": "sources",
    "triage": "triage",
    "contacts": "takedown",
    "bounces": "takedown",
    "run": "takedown",
    "worker": "takedown",
    "cases": "takedown",
    "release": "takedown",
    "digests": "web",
    "serve": "web",
    "tokens": "web",
    "audit": "web",
    "watchlist": "web",
    "access": "web",
}


def command_modules() -> list[str]:
    """Every command module, in the order their commands are listed (by module name)."""
    import pkgutil

    return sorted(info.name for info in pkgutil.iter_modules(commands.__path__))


class LazyCommands(TyperGroup):
    """A group that imports a command module only when one of its commands is asked for."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self._loaded: dict[str, list[str]] = {}  # module -> the command names it registered

    def _load(self, module_name: str) -> None:
        if module_name in self._loaded:
            return
        module = importlib.import_module(f"{commands.__name__}.{module_name}")
        scratch = typer.Typer(rich_markup_mode=self.rich_markup_mode)
        module.register(scratch)
        group = typer.main.get_group(scratch)
        self.commands.update(group.commands)
        self._loaded[module_name] = list(group.commands)

    def _load_all(self) -> None:
        for module_name in command_modules():
            self._load(module_name)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name not in self.commands:
            module_name = COMMANDS.get(cmd_name)
            if module_name is not None:
                self._load(module_name)
            if cmd_name not in self.commands:
                self._load_all()  # a module not (yet) in COMMANDS, or a typo to suggest for
        return self.commands.get(cmd_name)

    def list_commands(self, ctx: Any) -> list[str]:
        self._load_all()
        return [name for module in command_modules() for name in self._loaded[module]]


app = typer.Typer(
    name="hostwatch",
    help="Attribute reported URLs to their hosters, run notice-and-takedown, measure and publish.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    cls=LazyCommands,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"hostwatch {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    now: Annotated[
        str | None,
        typer.Option(help="Pin the clock, e.g. 2024-03-01T10:00:00Z (also HOSTWATCH_NOW)."),
    ] = None,
    database_url: Annotated[
        str | None, typer.Option("--database-url", help="Override HOSTWATCH_DATABASE_URL.")
    ] = None,
    config: Annotated[
        Path | None, typer.Option(help="TOML settings file (also HOSTWATCH_CONFIG).")
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print version.")
    ] = False,
) -> None:
    from hostwatch.clock import parse_instant

    if config is not None:
        import os

        os.environ["HOSTWATCH_CONFIG"] = str(config)  # ``serve --workers`` processes read it
    try:
        instant = parse_instant(now) if now else None
    except ValueError as exc:
        raise typer.BadParameter(f"not an ISO 8601 instant: {now!r}", param_hint="--now") from exc
    # Settings are built by the command that needs them (pydantic-settings alone costs a lookup
    # more than the lookup): record the overrides only, and only when there is something to
    # record or to reset from an earlier invocation in this process.
    if instant is not None or database_url is not None or "hostwatch.settings" in sys.modules:
        from hostwatch.settings import override

        override(now=instant, database_url=database_url)


def main() -> None:
    if sys.argv[1:2] == ["lookup"]:
        from hostwatch.cli.commands.lookup import quick_start

        if quick_start(sys.argv[2:]):
            return  # a plain lookup, started without typer's pydantic coercion (see that module)
    try:
        app()
    except Exception as exc:  # only the missing schema is translated; anything else propagates
        if not _missing_schema(exc):
            raise
        sys.stderr.write(
            "hostwatch: the database has no hostwatch schema, or an older one "
            f"({str(exc.__cause__ or exc).splitlines()[0]}); run `hostwatch migrate` first\n"
        )
        raise SystemExit(2) from None


def _missing_schema(exc: BaseException) -> bool:
    """Whether a command failed because the database was never migrated (a fresh SQLite file
    or an empty PostgreSQL database), which a user should read as one line, not a traceback."""
    from sqlalchemy.exc import OperationalError, ProgrammingError

    text = str(exc)
    return (isinstance(exc, OperationalError) and "no such table" in text) or (
        isinstance(exc, ProgrammingError) and "UndefinedTable" in repr(exc.orig)
    )


if __name__ == "__main__":
    main()
