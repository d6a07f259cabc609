"""Where settings come from before they are validated: ``HOSTWATCH_*`` variables and a TOML file.

:mod:`hostwatch.settings` validates every setting with pydantic, whose import and model alone cost
a process about 0.1-0.2 s. ``hostwatch lookup`` needs one setting (``state_dir``) and its whole
process must stay cheaper than pyasn's (issue 14), so the sources are read here, without pydantic,
and both read them through :func:`from_sources`: the precedence lives in one place.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args, get_origin

ENV_PREFIX = "HOSTWATCH_"
DEFAULT_STATE_DIR = Path(".hostwatch")


class NoDecode:
    """Marks a list setting whose environment value its own validator splits (not read as JSON)."""


@dataclass(frozen=True)
class _Plain:
    """A setting read as it is (the shape of a pydantic field that :func:`from_sources` reads)."""

    annotation: type = str
    metadata: tuple[object, ...] = ()


def _config_file() -> Path:
    return Path(os.environ.get("HOSTWATCH_CONFIG", "hostwatch.toml"))


def from_sources(fields: dict[str, Any]) -> dict[str, Any]:
    """The raw values of the TOML file, overlaid by ``HOSTWATCH_*`` environment variables.

    This is the precedence below explicit values, in one place. Environment names match
    case-insensitively; a list or table setting reads its variable as JSON unless marked
    ``NoDecode``. Kept to this (not pydantic-settings) because that library's import alone cost
    every command about 0.1 s, a third of what pyasn needs for a whole lookup.
    """
    import json

    path = _config_file()
    values: dict[str, Any] = {}
    if path.is_file():
        import tomllib

        values = tomllib.loads(path.read_text(encoding="utf-8"))
    environ = {k.upper(): v for k, v in os.environ.items() if k.upper().startswith(ENV_PREFIX)}
    for name, field in fields.items():
        raw = environ.get(f"{ENV_PREFIX}{name.upper()}")
        if raw is None:
            continue
        kinds = {get_origin(t) or t for t in (field.annotation, *get_args(field.annotation))}
        decode = bool(kinds & {list, dict, set, tuple}) and NoDecode not in field.metadata
        values[name] = json.loads(raw) if decode else raw
    return values


def unvalidated(name: str) -> Any:
    """One plain (not list or table) setting as its sources give it, or None where none sets it.

    The caller validates: :class:`hostwatch.settings.Settings` is the place that refuses a bad
    value, so a caller that cannot take what it gets builds the settings to say why.
    """
    return from_sources({name: _Plain()}).get(name)
