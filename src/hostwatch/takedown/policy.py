"""The re-notice and escalation policy, as data.

Hotlines differ per category and per country in how often they re-notify, whom they escalate to
and when they may send, so none of that is code: a TOML file (``policy.toml`` in this package is
the default) holds a ``[default]`` table and overrides under ``[classification.<name>]`` and
``[country.<CC>]``. The 24-hour clock runs from the first message actually sent, so a notice
held back by a sending window does not eat into the hoster's time.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from hostwatch.settings import Settings
from hostwatch.takedown.referrals import Routes, load_routes

DEFAULT_POLICY = Path(__file__).with_name("policy.toml")
ROLES = ("hoster", "reseller", "network-holder", "upstream", "registrar", "authority")
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class PolicyError(ValueError):
    """The policy file is unusable; the message names the file and the key."""


@dataclass(frozen=True)
class Step:
    """One rung of the escalation ladder."""

    role: str
    after_intervals: int


@dataclass(frozen=True)
class Window:
    """When messages may go out: working hours in a time zone, minus blocked days and dates."""

    timezone: str = "UTC"
    start: time = time(0, 0)
    end: time = time(23, 59, 59)
    blocked_days: tuple[str, ...] = ()
    blocked_dates: tuple[str, ...] = ()

    def _open_at(self, local: datetime) -> bool:
        if _DAYS[local.weekday()] in self.blocked_days:
            return False
        if local.date().isoformat() in self.blocked_dates:
            return False
        return self.start <= local.time() <= self.end

    def next_opening(self, instant: datetime) -> datetime:
        """``instant`` itself when the window is open, otherwise the next time it opens."""
        zone = ZoneInfo(self.timezone)
        local = instant.astimezone(zone)
        if self._open_at(local):
            return instant
        day = local.date()
        for offset in range(0, 366):
            candidate_day = day + timedelta(days=offset)
            opening = datetime.combine(candidate_day, self.start, tzinfo=zone)
            if opening < local:
                continue
            if self._open_at(opening):
                return opening.astimezone(instant.tzinfo)
        raise PolicyError("the sending window never opens within a year")


@dataclass(frozen=True)
class Rules:
    """The policy that applies to one case."""

    renotice_hours: float
    ladder: tuple[Step, ...]
    watch_days: float = 30.0
    watch_hours: float = 6.0
    window: Window | None = None
    long_lived_days: float | None = None
    long_lived_check_hours: float | None = None
    deadline_hours: float = 24.0

    @property
    def deadline(self) -> timedelta:
        """The time a hoster has from the first notice (the code of conduct's 24 hours)."""
        return timedelta(hours=self.deadline_hours)

    @property
    def renotice(self) -> timedelta:
        return timedelta(hours=self.renotice_hours)

    def check_interval(
        self, base: timedelta, opened_at: datetime | None, now: datetime
    ) -> timedelta:
        """Hours between checks of a URL still up: ``base``, or the slower pace the policy sets
        for cases open longer than ``long_lived_days`` (a URL up for weeks needs no check every
        few hours to date its removal to the day)."""
        if self.long_lived_days is None or self.long_lived_check_hours is None or not opened_at:
            return base
        if now - opened_at < timedelta(days=self.long_lived_days):
            return base
        return max(base, timedelta(hours=self.long_lived_check_hours))

    def steps_reached(self, intervals: int) -> list[tuple[int, Step]]:
        """The ladder levels reached after ``intervals``, highest first."""
        reached = [(i, s) for i, s in enumerate(self.ladder) if s.after_intervals <= intervals]
        return list(reversed(reached))

    def shift(self, instant: datetime) -> datetime:
        return self.window.next_opening(instant) if self.window else instant


@dataclass(frozen=True)
class Policy:
    """The whole policy file: defaults plus per-classification and per-country overrides."""

    default: dict[str, Any]
    classification: dict[str, dict[str, Any]] = field(default_factory=dict)
    country: dict[str, dict[str, Any]] = field(default_factory=dict)
    renotice_hours: float = 24.0
    check_hours: float = 6.0
    source: str = str(DEFAULT_POLICY)
    referrals: Routes = field(default_factory=lambda: load_routes("NL"))
    """Who the authority step of the ladder is (``referrals.toml``)."""

    def rules_for(self, classification: str | None, country: str | None) -> Rules:
        merged = dict(self.default)
        merged.update(self.classification.get((classification or "").lower(), {}))
        merged.update(self.country.get((country or "").upper(), {}))
        return _rules(merged, self.renotice_hours, self.check_hours, self.source)


def _time(text: str, where: str) -> time:
    try:
        return time.fromisoformat(text)
    except ValueError as exc:
        raise PolicyError(f"{where}: {text!r} is not a time of day (HH:MM)") from exc


def _window(data: dict[str, Any], where: str) -> Window:
    hours = str(data.get("hours", "00:00-23:59:59"))
    start, _, end = hours.partition("-")
    days = tuple(str(d).lower()[:3] for d in data.get("blocked_days", ()))
    if unknown := [d for d in days if d not in _DAYS]:
        raise PolicyError(f"{where}.blocked_days: unknown day(s) {unknown}")
    zone = str(data.get("timezone", "UTC"))
    try:
        ZoneInfo(zone)
    except (KeyError, ValueError) as exc:
        raise PolicyError(f"{where}.timezone: unknown time zone {zone!r}") from exc
    return Window(
        timezone=zone,
        start=_time(start, f"{where}.hours"),
        end=_time(end or "23:59:59", f"{where}.hours"),
        blocked_days=days,
        blocked_dates=tuple(str(d) for d in data.get("blocked_dates", ())),
    )


def _rules(data: dict[str, Any], renotice_hours: float, check_hours: float, source: str) -> Rules:
    ladder = []
    for i, step in enumerate(data.get("ladder", [{"role": "hoster", "after_intervals": 0}])):
        role = str(step.get("role", ""))
        if role not in ROLES:
            raise PolicyError(f"{source}: ladder[{i}].role {role!r} is not one of {ROLES}")
        ladder.append(Step(role, int(step.get("after_intervals", 0))))
    window = data.get("window")
    return Rules(
        renotice_hours=float(data.get("renotice_hours", renotice_hours)),
        ladder=tuple(sorted(ladder, key=lambda s: s.after_intervals)),
        watch_days=float(data.get("watch_days", 30)),
        watch_hours=float(data.get("watch_hours", check_hours)),
        window=_window(window, f"{source}: window") if window else None,
        long_lived_days=_positive(data, "long_lived_days", source),
        long_lived_check_hours=_positive(data, "long_lived_check_hours", source),
        deadline_hours=_positive(data, "deadline_hours", source) or 24.0,
    )


def _positive(data: dict[str, Any], key: str, source: str) -> float | None:
    if key not in data:
        return None
    try:
        value = float(data[key])
    except (TypeError, ValueError):
        value = -1.0
    if value <= 0:
        raise PolicyError(f"{source}: {key} must be a positive number, not {data[key]!r}")
    return value


def load_policy(settings: Settings, path: Path | None = None) -> Policy:
    """Read a policy file (the shipped default when ``path`` is None) and check every table,
    with the referral routing table of the settings (``HOSTWATCH_REFERRAL_ROUTES``)."""
    path = path or DEFAULT_POLICY
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise PolicyError(f"{path}: {exc}") from exc
    policy = Policy(
        default=data.get("default", {}),
        classification={k.lower(): v for k, v in data.get("classification", {}).items()},
        country={k.upper(): v for k, v in data.get("country", {}).items()},
        renotice_hours=settings.renotice_hours,
        check_hours=settings.check_interval_hours,
        source=str(path),
        referrals=load_routes(settings.country, settings.referral_routes),
    )
    policy.rules_for(None, None)
    for name in policy.classification:
        policy.rules_for(name, None)
    for code in policy.country:
        policy.rules_for(None, code)
    return policy
