"""The ``hostwatch`` command: global options, then the commands every area registers.

Command modules live in :mod:`hostwatch.cli.commands`; each exposes ``register(app)``. Discovering
them here keeps this file free of per-feature imports, the way Datasette builds core features as
plugins.
"""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path
from typing import Annotated

import typer

from hostwatch import __version__
from hostwatch.cli import commands
from hostwatch.clock import parse_instant
from hostwatch.settings import configure

app = typer.Typer(
    name="hostwatch",
    help="Attribute reported URLs to their hosters, run notice-and-takedown, measure and publish.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
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
    if config is not None:
        import os

        os.environ["HOSTWATCH_CONFIG"] = str(config)
    try:
        instant = parse_instant(now) if now else None
    except ValueError as exc:
        raise typer.BadParameter(f"not an ISO 8601 instant: {now!r}", param_hint="--now") from exc
    configure(now=instant, database_url=database_url)


def _register_all() -> None:
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{commands.__name__}.{info.name}")
        module.register(app)


_register_all()


def main() -> None:
    app()
