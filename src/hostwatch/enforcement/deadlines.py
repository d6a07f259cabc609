"""Order deadlines as policy: the default and the allowed range per kind of content.

The numbers come from the law (12 h for CSAM with 1 h possible; 1 h for terrorist content under
the TCO regulation), but laws change and regulators differ, so they live in a TOML file
(``orders.toml`` beside this module is the default) rather than in code.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_POLICY = Path(__file__).with_name("orders.toml")


class OrderPolicyError(ValueError):
    """The policy file is malformed, or an order asks for what the policy does not allow."""


@dataclass(frozen=True)
class Kind:
    """A kind of content an order may concern, with its deadline rule."""

    name: str
    label: str
    match: re.Pattern[str]
    hours: float
    min_hours: float
    max_hours: float


@dataclass(frozen=True)
class OrderPolicy:
    kinds: tuple[Kind, ...]
    timezone: ZoneInfo
    check_fractions: tuple[float, ...]
    after_deadline: tuple[timedelta, ...]

    def kind_of(self, classification: str | None) -> Kind:
        """The kind a classification falls under, or an error naming it."""
        for kind in self.kinds:
            if classification and kind.match.search(classification):
                return kind
        allowed = ", ".join(k.label for k in self.kinds)
        raise OrderPolicyError(
            f"no removal order is possible for classification {classification!r}; "
            f"orders concern: {allowed}"
        )

    def deadline_hours(self, kind: Kind, hours: float | None) -> float:
        """The deadline an order gets: the kind's default, or ``hours`` if in range."""
        if hours is None:
            return kind.hours
        if not kind.min_hours <= hours <= kind.max_hours:
            raise OrderPolicyError(
                f"a deadline of {hours:g} h is outside the range for {kind.label} "
                f"({kind.min_hours:g}-{kind.max_hours:g} h)"
            )
        return hours

    def check_times(self, issued_at: datetime, deadline_at: datetime) -> list[datetime]:
        """When an ordered URL should be checked: denser towards the deadline, then after it."""
        window = deadline_at - issued_at
        times = [issued_at + window * f for f in self.check_fractions]
        times += [deadline_at + d for d in self.after_deadline]
        return sorted(times)


def _number(data: dict[str, Any], key: str, where: str) -> float:
    value = data.get(key)
    if not isinstance(value, int | float) or value <= 0:
        raise OrderPolicyError(f"{where}: {key} must be a positive number")
    return float(value)


def load_order_policy(path: Path | None = None) -> OrderPolicy:
    """Read and validate an order policy; errors name the file and the key."""
    source = path or DEFAULT_POLICY
    try:
        data = tomllib.loads(source.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise OrderPolicyError(f"{source}: {exc}") from exc
    kinds = []
    for name, spec in (data.get("kind") or {}).items():
        where = f"{source}: [kind.{name}]"
        try:
            pattern = re.compile(str(spec["match"]), re.IGNORECASE)
        except (KeyError, re.error) as exc:
            raise OrderPolicyError(f"{where}: match must be a regular expression") from exc
        kind = Kind(
            name=name,
            label=str(spec.get("label", name)),
            match=pattern,
            hours=_number(spec, "hours", where),
            min_hours=_number(spec, "min_hours", where),
            max_hours=_number(spec, "max_hours", where),
        )
        if not kind.min_hours <= kind.hours <= kind.max_hours:
            raise OrderPolicyError(f"{where}: hours must lie within min_hours..max_hours")
        kinds.append(kind)
    if not kinds:
        raise OrderPolicyError(f"{source}: no [kind.*] table")
    checks = data.get("checks") or {}
    fractions = tuple(float(f) for f in checks.get("fractions", ()))
    if any(not 0 < f < 1 for f in fractions):
        raise OrderPolicyError(f"{source}: [checks] fractions must lie between 0 and 1")
    after = tuple(timedelta(minutes=float(m)) for m in checks.get("after_deadline_minutes", ()))
    try:
        zone = ZoneInfo(str(data.get("timezone", "UTC")))
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise OrderPolicyError(f"{source}: unknown timezone {data.get('timezone')!r}") from exc
    return OrderPolicy(tuple(kinds), zone, fractions, after)
