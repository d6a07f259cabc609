"""Who may learn what: the one disclosure policy every API route, portal page and feed obeys.

Three questions, three tables, all here:

1. **Which routes** a role may call (:data:`API_ROUTES`, :data:`PORTAL_PAGES`). The API and
   portal gates (``web/api/common.py``, ``web/portal/routes.py``) look the matched route up here;
   a route with no rule is refused to everyone (fail closed).
2. **Which records**: :func:`case_filter`, :func:`attribution_filter`, :func:`provider_filter`.
   A provider sees cases and attributions in its *verified* assets only
   (:mod:`hostwatch.attribution.assets`); nothing automatic or typed in by hand widens that.
3. **Which fields** of a record (:data:`RECORDS`, applied by :func:`disclose`). Every field of
   every record a provider or researcher can receive has a rule; a field without one raises
   :class:`PolicyGap` (fail closed), and the route x role x field test matrix finds it first.

The rules, by role:

- **admin, analyst, regulator** see everything.
- **provider** sees its own cases (in its verified space), their state, its own messages,
  deliveries and deadlines, and our checks; never escalations to other parties, referrals to
  authorities, police routes, watchlist matches or other providers, not even as ids. So the
  states ``escalated`` and ``moved`` read as ``reachable`` and ``under-review`` (with no
  ``state_since``), counts and levels of messages are withheld, the timeline is built from an
  allow-list (messages to its own contacts, state changes without their reasons, its own feed
  actions), and no provider id or name other than its own appears.
- **researcher** sees aggregates and keyed pseudonyms only: no URL, host, IP, network, WHOIS
  range, resolver address or abuse address in any field; attribution ``sources`` shrink to the
  kind of source (``rpsl``, ``dns``, ``routing``...), never its detail.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, false, select, true
from sqlalchemy.orm import Session

from hostwatch import harmonisation as hw
from hostwatch.attribution.asset_match import cases_in_verified_space, in_verified_space
from hostwatch.metrics.pseudonymise import pseudonym
from hostwatch.model import ApiToken, Case, Provider
from hostwatch.model.case import CASE_STATES
from hostwatch.takedown.provider_feed import PROVIDER_STATES, provider_state
from hostwatch.takedown.triage import NOTICE_MAY_GO
from hostwatch.web.auth import ROLES, Principal

FULL = frozenset({"admin", "analyst", "regulator"})
STAFF = frozenset({"admin", "analyst"})
EVERYONE = frozenset(ROLES)
CASE_READERS = FULL | {"provider"}
FEED_USERS = STAFF | {"provider"}
ANALYSTS_AND_RESEARCHERS = FULL | {"researcher"}
PROVIDER_ONLY = frozenset({"provider"})
REGULATOR = frozenset({"regulator"})
NOT_PROVIDER = FULL | {"researcher"}
NOT_RESEARCHER = FULL | {"provider"}


class PolicyGap(LookupError):
    """A route or field the policy has no rule for: refused rather than guessed."""


# --- 1. routes ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    """Who may call a route and which record kind its JSON answer holds (None: no record)."""

    roles: frozenset[str]
    record: str | None = None


OPEN = Route(frozenset())  # no token needed: login, health, the static docs page

API_ROUTES: dict[str, Route] = {
    # paths as declared below the API prefix (/api/v1)
    "GET /cases": Route(EVERYONE, "case"),
    "GET /cases/{case_id}": Route(EVERYONE, "case"),
    "GET /cases/{case_id}/timeline": Route(CASE_READERS, "timeline_event"),
    "GET /attributions": Route(EVERYONE, "attribution"),
    "GET /providers": Route(EVERYONE, "provider"),
    "GET /providers/{provider_id}": Route(EVERYONE, "provider"),
    "GET /metrics/providers": Route(EVERYONE, "takedown_report"),  # a provider: its own only
    "GET /metrics/quality": Route(ANALYSTS_AND_RESEARCHERS, "data_quality"),
    # counts per provider of messages, bounces, webhook failures and answer times; no address
    "GET /metrics/reachability": Route(ANALYSTS_AND_RESEARCHERS, "reachability"),
    "GET /metrics/takedown": Route(ANALYSTS_AND_RESEARCHERS, "takedown_report"),
    "POST /notices": Route(STAFF, "ingest_report"),
    "POST /notices/bulk": Route(STAFF, "ingest_report"),
    "GET /contact-requests": Route(STAFF, "contact_request"),
    "POST /contact-requests/{request_id}/{decision}": Route(STAFF, "contact_request"),
    "GET /watchlist": Route(STAFF, "watchlist_entry"),
    "GET /watchlist/alerts": Route(STAFF, "watchlist_alert"),
    "GET /audit/verify": Route(FULL, "audit_head"),
    "GET /dossiers": Route(FULL, "takedown_report"),
    "GET /dossiers/{provider_id}": Route(FULL, "dossier"),
    "GET /feed": Route(FEED_USERS, "case"),
    "GET /feed.csv": Route(FEED_USERS),  # the feed's case rows, as CSV
    "GET /feed.atom": Route(FEED_USERS),  # the feed's case rows, as Atom
    "GET /feed/digest": Route(FEED_USERS, "digest"),
    "GET /feed/resellers": Route(FEED_USERS, "reseller_row"),  # know your resellers
    "POST /feed/cases/{case_id}/ack": Route(PROVIDER_ONLY, "feed_answer"),
    "POST /feed/cases/{case_id}/resolve": Route(PROVIDER_ONLY, "feed_answer"),
    "POST /feed/contact": Route(PROVIDER_ONLY, "feed_answer"),
    "POST /orders": Route(REGULATOR, "order"),
    "GET /orders": Route(CASE_READERS, "order"),
    "GET /orders/{reference}": Route(CASE_READERS, "order"),
    "POST /orders/{reference}/acknowledge": Route(PROVIDER_ONLY, "order_answer"),
    "POST /orders/{reference}/objection": Route(PROVIDER_ONLY, "order_answer"),
    "POST /orders/proposals": Route(frozenset({"analyst", "regulator"}), "order_proposal"),
    "GET /scorecards/{provider_id}": Route(CASE_READERS, "scorecard"),
    "GET /register": OPEN,  # published decisions: providers and sanctions, never a location
    "GET /triage": Route(STAFF, "triage_item"),  # URLs waiting for an analyst: staff only
    "POST /triage/verdicts": Route(STAFF, "triage_verdict"),
}
"""Every route under /api/v1: who may call it and what it returns."""

OPS_ROUTES: dict[str, Route] = {
    "GET /openapi.json": OPEN,
    "GET /healthz": OPEN,
    "GET /metrics": OPEN,  # request counters; its own access rule lives with the ops router
}
"""Routes outside the API and the portal (operations); they return no case data."""

PORTAL_PAGES: dict[str, Route] = {
    "GET /": OPEN,
    "GET /login": OPEN,
    "POST /login": OPEN,
    "POST /logout": OPEN,
    "GET /docs": OPEN,
    "GET /queue": Route(STAFF, "case"),
    "GET /cases/{case_id}": Route(CASE_READERS, "case"),
    "GET /providers": Route(ANALYSTS_AND_RESEARCHERS, "takedown_report"),
    "GET /providers/{provider_id}": Route(ANALYSTS_AND_RESEARCHERS, "provider"),
    "GET /feed": Route(FEED_USERS, "case"),
    "GET /feed.csv": Route(FEED_USERS),
    "GET /feed.atom": Route(FEED_USERS),
    "GET /feed/resellers": Route(FEED_USERS, "reseller_row"),
    "POST /feed/cases/{case_id}/{action}": Route(PROVIDER_ONLY),
    "POST /feed/contact": Route(PROVIDER_ONLY),
    "GET /contact-requests": Route(STAFF, "contact_request"),
    "POST /contact-requests/{request_id}/{decision}": Route(STAFF),
    "GET /dossiers": Route(FULL, "takedown_report"),
    "GET /dossiers/{provider_id:int}": Route(FULL, "dossier"),
    "GET /dossiers/{provider_id}.pdf": Route(FULL),
    "GET /watchlist": Route(STAFF, "watchlist_alert"),
    "GET /orders": Route(CASE_READERS, "order"),
    "GET /orders/{reference}": Route(CASE_READERS, "order"),
    "POST /orders/{reference}/{kind}": Route(PROVIDER_ONLY),
    "GET /scorecards/{provider_id}": Route(CASE_READERS, "scorecard"),
    "GET /register": OPEN,
    "GET /triage": Route(STAFF, "triage_item"),
    "POST /triage": Route(STAFF),
}
"""Every portal page (paths as the browser sees them)."""


def route_rule(table: Mapping[str, Route], method: str, path: str) -> Route:
    """The rule for ``METHOD path`` (HEAD is GET); PolicyGap when there is none."""
    key = f"{'GET' if method == 'HEAD' else method} {path}"
    rule = table.get(key)
    if rule is None:
        raise PolicyGap(f"no disclosure rule for {key}")
    return rule


def may_call(table: Mapping[str, Route], method: str, path: str, role: str) -> bool:
    """Whether ``role`` may call the route; an unknown route is refused to everyone."""
    try:
        return role in route_rule(table, method, path).roles
    except PolicyGap:
        return False


# --- 2. records ---------------------------------------------------------------------------------


def sees_identifiers(principal: Principal) -> bool:
    """Whether URLs, hosts and IPs may be shown to this principal (everyone but researchers)."""
    return principal.role != "researcher"


def confined_to(principal: Principal) -> int | None:
    """The provider whose records alone this principal may see; None for staff, who see all."""
    return principal.provider_id if principal.role == "provider" else None


def sees_provider(principal: Principal, provider_id: int) -> bool:
    """Whether the principal may read this provider's own pages (a provider: only its own)."""
    return principal.role != "provider" or principal.provider_id == provider_id


def attribution_filter(session: Session, principal: Principal) -> ColumnElement[bool]:
    """Which attributions the principal may read: a provider only those in its verified space."""
    if principal.role != "provider":
        return true()
    if principal.provider_id is None:
        return false()
    return in_verified_space(session, principal.provider_id)


def case_filter(session: Session, principal: Principal) -> ColumnElement[bool]:
    """Which cases the principal may read: a provider only those in its verified space
    (:func:`hostwatch.attribution.asset_match.cases_in_verified_space`) whose notices may go: it
    never learns of a report that waits for triage or that an analyst found not illegal."""
    if principal.role != "provider":
        return true()
    if principal.provider_id is None:
        return false()
    return and_(cases_in_verified_space(session, principal.provider_id), NOTICE_MAY_GO)


def provider_filter(principal: Principal) -> ColumnElement[bool]:
    """Which provider records the principal may read: a provider only its own."""
    if principal.role != "provider":
        return true()
    if principal.provider_id is None:
        return false()
    return Provider.id == principal.provider_id


def visible_case(session: Session, principal: Principal, case_id: int) -> Case | None:
    """The case if it exists and the principal may see it; None either way otherwise."""
    return session.scalar(select(Case).where(Case.id == case_id, case_filter(session, principal)))


PROVIDER_REFUSED_FILTERS = ("held", "provider", "provider_id")
"""Case-list filters a provider may not use: they would probe for other parties."""


def provider_states(state: str) -> tuple[str, ...]:
    """The real states behind a state name as a provider sees it (empty: not a name it sees)."""
    if state in PROVIDER_STATES:
        return ()
    return tuple(s for s in CASE_STATES if PROVIDER_STATES.get(s, s) == state)


def own_actors(session: Session, principal: Principal) -> frozenset[str]:
    """The audit actor names of every token of the principal's provider (its own feed actions)."""
    if principal.provider_id is None:
        return frozenset()
    ids = session.scalars(select(ApiToken.id).where(ApiToken.provider_id == principal.provider_id))
    return frozenset(f"token:{token_id}:provider" for token_id in ids)


PROVIDER_MESSAGE_KINDS = frozenset({"notice", "renotice", "reappeared", "digest"})
"""Messages a provider may see on its timeline, and only when sent to its own contacts."""

PROVIDER_AUDIT_STATES = frozenset(
    {"new", "notified", "reachable", "offline-pending", "removed", "reappeared", "closed"}
)
"""State changes a provider sees (as ``case.<state>``, without the reason, which may name
whoever was written to); ``escalated`` and ``moved`` are not among them."""

PROVIDER_OWN_ACTIONS = frozenset({"provider.acknowledged", "provider.resolved"})
"""Audit events of a provider's own feed actions it sees (only those by its own tokens)."""


# --- 3. fields ----------------------------------------------------------------------------------


def _everyone(*names: str) -> dict[str, frozenset[str]]:
    return dict.fromkeys(names, EVERYONE)


CASE: dict[str, frozenset[str]] = {
    **_everyone("id", "country", "classification", "state", "opened_at", "first_message_at"),
    **_everyone("last_online_at", "removed_at", "closed_at", "takedown_seconds", "reseller"),
    "url": NOT_RESEARCHER,
    "url_pseudonym": frozenset({"researcher"}),
    "state_since": EVERYONE,  # None for a provider when its state is shown under another name
    "provider": EVERYONE,  # for a provider: None unless it is itself (OWN_ONLY)
    "provider_id": EVERYONE,
    "held": NOT_PROVIDER,  # held for an analyst because the hoster changed
    "last_message_at": NOT_PROVIDER,  # may be a message to someone else
    "messages_sent": NOT_PROVIDER,  # counts escalations and referrals too
    "escalation_level": NOT_PROVIDER,
}

ATTRIBUTION: dict[str, frozenset[str]] = {
    **_everyone("id", hw.TIME_OBSERVATION, "status", hw.SOURCE_ASN, hw.SOURCE_AS_NAME),
    **_everyone(hw.EXTRA_SOURCE_AS_ORG, hw.SOURCE_GEOLOCATION_CC, "reseller", "behind_cdn"),
    **_everyone("computed_at"),
    # how the attribution stands in time: where the address came from, snapshot ages, staleness
    **_everyone("ip_origin", "stale", "stale_reason", "offsets"),
    "url_pseudonym": frozenset({"researcher"}),
    hw.SOURCE_URL: NOT_RESEARCHER,
    hw.SOURCE_FQDN: NOT_RESEARCHER,
    hw.SOURCE_IP: NOT_RESEARCHER,
    hw.EXTRA_SOURCE_IPS: NOT_RESEARCHER,
    hw.SOURCE_NETWORK: NOT_RESEARCHER,
    hw.SOURCE_ABUSE_CONTACT: NOT_RESEARCHER,
    "whois_chain": NOT_RESEARCHER,
    "provider": EVERYONE,  # OWN_ONLY
    "provider_id": EVERYONE,
    "sources": NOT_PROVIDER,  # researchers get the kind of each source only (see disclose)
}

PROVIDER: dict[str, frozenset[str]] = {
    **_everyone("id", "name", "kind", "country", "is_cdn", "is_shared_platform", "source"),
    "assets": NOT_RESEARCHER,  # networks; a provider sees only its own record
}

PROVIDER_ASSET: dict[str, frozenset[str]] = {
    **dict.fromkeys(("kind", "value", "standing"), NOT_RESEARCHER),
    "provenance": FULL,  # an analyst's note on who said so (a hotline case, a police tip)
}

NESTED = {("provider", "assets"): "provider_asset"}
"""Fields holding a list of records of their own kind, disclosed record by record."""

TIMELINE_EVENT: dict[str, frozenset[str]] = {
    **_everyone("at", "kind", "summary", "classification", "action", "audit_id"),
    **_everyone("ticket", "to", "message_kind", "message_id", "smtp_code"),
    **_everyone("online", "outcome", "http_status"),
    **dict.fromkeys(("source", "reference", "format", "escalation_level", "reason"), FULL),
    **dict.fromkeys(("actor", "data", "hash", "ip", "prefix", "asn"), FULL),
    **dict.fromkeys(("country", "abuse_contact", "reseller"), FULL),
}

DIGEST: dict[str, frozenset[str]] = _everyone("provider", "to", "subject", "body", "open_cases")
FEED_ANSWER: dict[str, frozenset[str]] = _everyone(
    "case", "acknowledged", "state", "recheck_at", "request", "status"
)

ORDER: dict[str, frozenset[str]] = {
    # a provider sees only its own orders (the route narrows), and all of each
    **_everyone("reference", "provider", "classification", "basis", "issued_at", "deadline_at"),
    **_everyone("deadline_hours", "status", "delivered_at", "delivery", "acknowledged_at"),
    **_everyone("objections", "amendments", "cases"),
}
ORDER_CASE: dict[str, frozenset[str]] = _everyone(
    "case_id", "url", "outcome", "removed_at", "last_online_at", "reason"
)
ORDER_ANSWER: dict[str, frozenset[str]] = _everyone("order", "acknowledged", "objection")
SCORECARD: dict[str, frozenset[str]] = {
    **_everyone("provider", "period", "orders", "hotline_notices", "repeat_offences"),
    "watchlist_served": FULL,  # a provider never learns of watchlist matches
    "warnings": CASE_READERS,  # the regulator's warnings to this provider itself
}
NESTED[("order", "cases")] = "order_case"
RESELLER_ROW: dict[str, frozenset[str]] = {
    # a party in the provider's own space: a natural person is already "private individual"
    # with no handle (hostwatch.attribution.parties.shown_party), for every role
    **_everyone("level", "name", "country", "kind", "parties", "urls", "cases", "open_cases"),
    **_everyone("n", "removed", "removed_within_24h", "removed_within_24h_upper"),
    **_everyone("median_hours", "median_status", "median_lower_hours", "median_upper_hours"),
    "watchlist_matches": FULL,  # a provider never learns of watchlist matches (tipping-off)
}

OWN_ONLY = {"case": ("provider", "provider_id"), "attribution": ("provider", "provider_id")}
"""Fields a provider sees only when they name itself: a case or attribution in its verified
space may be attributed to another provider (its reseller, a mistaken merge); then both are None.
"""

AGGREGATES = frozenset({"takedown_report", "data_quality", "reachability"})
"""Record kinds of counts and estimates only, whole for every role their route admits."""

RECORDS: dict[str, dict[str, frozenset[str]] | None] = {
    "case": CASE,
    "attribution": ATTRIBUTION,
    "provider": PROVIDER,
    "provider_asset": PROVIDER_ASSET,
    "timeline_event": TIMELINE_EVENT,
    "digest": DIGEST,
    "feed_answer": FEED_ANSWER,
    "order": ORDER,
    "order_case": ORDER_CASE,
    "order_answer": ORDER_ANSWER,
    "scorecard": SCORECARD,
    "reseller_row": RESELLER_ROW,
    "order_proposal": None,
    # aggregates: per-group counts and estimates; reseller names are pseudonymised for
    # researchers by takedown_report_view
    "takedown_report": None,
    "data_quality": None,
    "reachability": None,
    # oversight records: only routes closed to providers and researchers return them
    "ingest_report": None,
    "contact_request": None,
    "watchlist_entry": None,
    "watchlist_alert": None,
    "audit_head": None,
    "dossier": None,
    # triage: reported URLs no analyst has judged yet, and the verdicts; staff only (a provider
    # never learns that a report about it waits, nor who judged it)
    "triage_item": None,
    "triage_verdict": None,
}
"""Per record kind, per field, the roles that see it. None: every field for the roles the
route admits, which the matrix test holds to oversight roles (or aggregates)."""

_SOURCE_KIND = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,30}")  # no dots: never a host name


def source_kinds(sources: Any) -> dict[str, str] | None:
    """Attribution sources reduced to the kind of each source, for researchers.

    ``"rpsl:4 127.3.16.0 - 127.3.31.255"`` becomes ``"rpsl"``, ``"dns:127.0.0.1:48467"``
    becomes ``"dns"``: which kind of data said so, never a range, a resolver or a host. A
    source whose first word is not a plain kind name (an address, a dotted name) reads "other".
    """
    if not isinstance(sources, dict):
        return None
    out = {}
    for key, value in sources.items():
        if key == "provider_provenance" or not isinstance(value, str):
            continue
        head = re.split(r"[:\s]", value.strip(), maxsplit=1)[0]
        out[str(key)] = head if _SOURCE_KIND.fullmatch(head) else "other"
    return out


def disclose(kind: str, row: dict[str, Any], viewer: Principal) -> dict[str, Any]:
    """``row`` as ``viewer`` may see it: fields without a rule raise PolicyGap."""
    if kind not in RECORDS:
        raise PolicyGap(f"no disclosure rule for record kind {kind!r}")
    fields = RECORDS[kind]
    if fields is None:
        if viewer.role not in FULL and kind not in AGGREGATES:
            raise PolicyGap(f"{kind} records are for oversight roles only")
        return row
    out: dict[str, Any] = {}
    for name, value in row.items():
        roles = fields.get(name)
        if roles is None:
            raise PolicyGap(f"no disclosure rule for field {kind}.{name}")
        if viewer.role in roles:
            nested = NESTED.get((kind, name))
            out[name] = value if nested is None else disclose_all(nested, value, viewer)
    if viewer.role == "researcher" and "sources" in out:
        out["sources"] = source_kinds(out["sources"])
    if viewer.role == "provider" and row.get("provider_id") != viewer.provider_id:
        for name in OWN_ONLY.get(kind, ()):
            if name in out:
                out[name] = None
    if viewer.role == "provider" and out.get("state") in PROVIDER_STATES:
        out["state"] = provider_state(out["state"])
        if "state_since" in out:
            out["state_since"] = None
    return out


def disclose_all(kind: str, rows: list[dict[str, Any]], viewer: Principal) -> list[dict[str, Any]]:
    return [disclose(kind, row, viewer) for row in rows]


def takedown_report_view(report: dict[str, Any], viewer: Principal, key: str) -> dict[str, Any]:
    """The takedown report for ``viewer``: researchers see resellers as keyed pseudonyms."""
    if viewer.role == "researcher":
        for row in report.get("resellers", []):
            row["reseller"] = pseudonym(str(row["reseller"]), key)
    return report
