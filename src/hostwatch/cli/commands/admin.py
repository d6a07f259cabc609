"""Operating commands: bring the schema up to date, show the effective settings."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from hostwatch.settings import Settings, get_settings


def migrate(
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
) -> None:
    """Create or upgrade the database schema (SQLite or PostgreSQL)."""
    from hostwatch.model.db import migrate as run_migrations

    settings = get_settings()
    run_migrations(settings.database_url, revision)
    Console(stderr=True).print(f"schema at {revision} on {_redact(settings.database_url)}")


def show_settings() -> None:
    """Print every setting, its effective value and what it means."""
    settings = get_settings()
    table = Table("setting", "value", "meaning")
    for name, field in Settings.model_fields.items():
        value = getattr(settings, name)
        if name in {"pseudonym_key"}:
            value = "(set)" if value else ""
        elif name in {"database_url", "smtp_url"} and value:
            value = _redact(str(value))
        table.add_row(f"HOSTWATCH_{name.upper()}", str(value), field.description or "")
    Console().print(table)


def _redact(url: str) -> str:
    """Hide a password in a URL before it reaches a terminal or log."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url


def register(app: typer.Typer) -> None:
    app.command()(migrate)
    app.command("settings")(show_settings)
