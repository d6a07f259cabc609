"""Whom a case is referred to: the routing table by category and hosting country, as data.

The escalation ladder (``policy.toml``) says *when* a case reaches the authority step; this
table says *who* that is. Child sexual abuse material hosted at home goes to the national
authority, hosted abroad to the partner hotline of that country (as INHOPE's ICCAM routes
reports between hotlines), malware and phishing to the national CERT or to no one. The shipped
table is ``referrals.toml`` beside this module.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hostwatch.model.party import Contact

DEFAULT_ROUTES = Path(__file__).with_name("referrals.toml")
REFERRAL_ROLES = ("authority", "hotline", "cert")
_ANY = "*"
_HOME = "home"
_HOSTING = "hosting"


class RoutesError(ValueError):
    """The routing table is unusable; the message names the file and the entry."""


@dataclass(frozen=True)
class Target:
    """One contact role to try, and whose country it must serve."""

    role: str
    country: str  # home | hosting


@dataclass(frozen=True)
class Route:
    categories: frozenset[str]
    hosted_in: frozenset[str]
    to: tuple[Target, ...]


@dataclass(frozen=True)
class Routes:
    """The categories and the ordered routes of one routing table, for one home country."""

    categories: tuple[tuple[str, re.Pattern[str]], ...]
    routes: tuple[Route, ...]
    home: str
    source: str = str(DEFAULT_ROUTES)

    def category(self, classification: str | None) -> str | None:
        for name, pattern in self.categories:
            if classification and pattern.search(classification):
                return name
        return None

    def route(self, classification: str | None, hosted_in: str | None) -> Route | None:
        """The first route for this classification and hosting country."""
        category = self.category(classification)
        country = (hosted_in or "").upper()
        for route in self.routes:
            if _ANY not in route.categories and category not in route.categories:
                continue
            if self._hosted(route.hosted_in, country):
                return route
        return None

    def _hosted(self, hosted_in: frozenset[str], country: str) -> bool:
        if _ANY in hosted_in or (country and country in hosted_in):
            return True
        return country == self.home and _HOME in hosted_in

    def target(
        self, classification: str | None, hosted_in: str | None, contacts: list[Contact]
    ) -> Contact | None:
        """The contact a case is referred to: the first target of its route with a usable
        contact (manual entries first), or None when the route refers to no one."""
        route = self.route(classification, hosted_in)
        if route is None:
            return None
        for target in route.to:
            wanted = self.home if target.country == _HOME else (hosted_in or "").upper()
            found = [
                c
                for c in contacts
                if c.role == target.role
                and c.active
                and not c.do_not_notify
                and c.email
                and (c.country == wanted or (c.country is None and target.country == _HOME))
            ]
            if found:
                return max(
                    found, key=lambda c: (c.source == "manual", c.country is not None, -c.id)
                )
        return None


def _strings(value: Any, where: str, *, countries: bool = False) -> frozenset[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise RoutesError(f"{where} must be a list of strings")
    if countries:
        return frozenset(v if v in (_ANY, _HOME) else v.upper() for v in value)
    return frozenset(value)


def _targets(value: Any, where: str) -> tuple[Target, ...]:
    if not isinstance(value, list):
        raise RoutesError(f"{where} must be a list of {{ role, country }} tables")
    targets = []
    for i, entry in enumerate(value):
        role = str((entry or {}).get("role", "")) if isinstance(entry, dict) else ""
        country = str(entry.get("country", _HOME)) if isinstance(entry, dict) else ""
        if role not in REFERRAL_ROLES:
            raise RoutesError(f"{where}[{i}].role {role!r} is not one of {REFERRAL_ROLES}")
        if country not in (_HOME, _HOSTING):
            raise RoutesError(f"{where}[{i}].country {country!r} is not 'home' or 'hosting'")
        targets.append(Target(role, country))
    return tuple(targets)


def load_routes(home: str, path: Path | None = None) -> Routes:
    """Read and check a routing table; ``home`` is the hotline's own country."""
    source = path or DEFAULT_ROUTES
    try:
        data = tomllib.loads(source.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise RoutesError(f"{source}: {exc}") from exc
    categories = []
    for name, spec in (data.get("category") or {}).items():
        try:
            categories.append((name, re.compile(str(spec["match"]), re.IGNORECASE)))
        except (KeyError, TypeError, re.error) as exc:
            raise RoutesError(f"{source}: [category.{name}] match must be a regex") from exc
    known = {name for name, _ in categories} | {_ANY}
    routes = []
    for i, spec in enumerate(data.get("route") or []):
        where = f"{source}: route[{i}]"
        route = Route(
            categories=_strings(spec.get("category", [_ANY]), f"{where}.category"),
            hosted_in=_strings(spec.get("hosted_in", [_ANY]), f"{where}.hosted_in", countries=True),
            to=_targets(spec.get("to", []), f"{where}.to"),
        )
        if unknown := sorted(route.categories - known):
            raise RoutesError(f"{where}.category: unknown category {unknown}")
        routes.append(route)
    return Routes(tuple(categories), tuple(routes), home.upper(), str(source))
