"""Do-not-notify rules ("inhibitions"): no notice goes out for a case that a live rule matches.

A rule names an origin ASN, a prefix (the case's attributed address lies in it), a provider or a
classification, with a reason and an expiry; it applies from its creation until it expires or is
removed. Planning asks :func:`inhibited` for each due case: a matching rule keeps the notice back
until the rule expires (the case becomes due again then; removing the rule makes it due at once)
and leaves an audit event ``case.inhibited`` on the case naming the rule and its reason, which is
how a case's history says why no notice went out. Adding and removing rules are audit events too.
Checks go on for an inhibited case; only messages wait.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from hostwatch.model.attribution import Attribution
from hostwatch.model.audit import AuditEvent, record
from hostwatch.model.case import Case
from hostwatch.model.inhibition import Inhibition
from hostwatch.model.party import Provider

KINDS = ("asn", "prefix", "provider", "classification")
_CACHE = "hostwatch.inhibitions.live"  # session.info key: (now, the rules live then)


class InhibitionError(ValueError):
    """A rule that cannot be stored or found; the message says why."""


def _value(session: Session, kind: str, value: str) -> str:
    """The stored form of a rule's value: AS number, network, provider id, classification."""
    text = value.strip()
    if kind == "asn":
        digits = text.upper().removeprefix("AS")
        if not digits.isdigit() or not 0 < int(digits) < 2**32:
            raise InhibitionError(f"ASN {value!r} is not a number like AS64500")
        return str(int(digits))
    if kind == "prefix":
        try:
            return str(ipaddress.ip_network(text, strict=False))
        except ValueError as exc:
            raise InhibitionError(f"prefix {value!r}: {exc}") from exc
    if kind == "provider":
        provider = session.scalar(select(Provider).where(Provider.name == text))
        if provider is None:
            raise InhibitionError(f"no provider named {value!r}")
        return str(provider.id)
    if kind == "classification":
        if not text or len(text) > 64:
            raise InhibitionError("classification must be 1 to 64 characters")
        return text.lower()
    raise InhibitionError(f"kind {kind!r} is not one of {', '.join(KINDS)}")


def add_inhibition(
    session: Session,
    *,
    kind: str,
    value: str,
    reason: str,
    expires_at: datetime,
    actor: str,
    now: datetime,
) -> Inhibition:
    """Store a rule (audited); it applies to every case planned from ``now`` on."""
    if kind not in KINDS:
        raise InhibitionError(f"kind {kind!r} is not one of {', '.join(KINDS)}")
    if not reason.strip():
        raise InhibitionError("a rule needs a reason")
    if expires_at <= now:
        raise InhibitionError("the expiry must lie in the future")
    rule = Inhibition(
        kind=kind,
        value=_value(session, kind, value),
        reason=reason.strip(),
        created_at=now,
        created_by=actor,
        expires_at=expires_at,
    )
    session.add(rule)
    session.flush()
    session.info.pop(_CACHE, None)
    record(
        session,
        at=now,
        actor=actor,
        action="inhibition.added",
        object_type="inhibition",
        object_id=rule.id,
        reason=rule.reason,
        data={"kind": kind, "value": rule.value, "expires_at": expires_at.isoformat()},
    )
    return rule


def remove_inhibition(session: Session, rule_id: int, *, actor: str, now: datetime) -> Inhibition:
    """End a rule now (audited); the cases it kept back become due at once."""
    rule = session.get(Inhibition, rule_id)
    if rule is None or rule.removed_at is not None:
        raise InhibitionError(f"no live inhibition {rule_id}")
    rule.removed_at = now
    rule.removed_by = actor
    session.info.pop(_CACHE, None)
    held = session.scalars(
        select(AuditEvent.object_id).where(
            AuditEvent.action == "case.inhibited",
            AuditEvent.object_type == "case",
            AuditEvent.data["inhibition"].as_integer() == rule.id,
        )
    ).all()
    for case in session.scalars(select(Case).where(Case.id.in_({int(i) for i in held}))):
        if case.next_message_at == rule.expires_at:  # still waiting for this rule to end
            case.next_message_at = now
    record(
        session,
        at=now,
        actor=actor,
        action="inhibition.removed",
        object_type="inhibition",
        object_id=rule.id,
        reason=rule.reason,
        data={"kind": rule.kind, "value": rule.value},
    )
    return rule


def live_rules(session: Session, now: datetime) -> list[Inhibition]:
    """Rules in force at ``now``: created by then, not expired, not removed."""
    return list(
        session.scalars(
            select(Inhibition)
            .where(
                Inhibition.created_at <= now,
                Inhibition.expires_at > now,
                or_(Inhibition.removed_at.is_(None), Inhibition.removed_at > now),
            )
            .order_by(Inhibition.id)
        )
    )


def _matches(rule: Inhibition, case: Case, attribution: Attribution | None) -> bool:
    if rule.kind == "provider":
        return case.provider_id is not None and str(case.provider_id) == rule.value
    if rule.kind == "classification":
        return (case.classification or "").lower() == rule.value
    if attribution is None:
        return False
    if rule.kind == "asn":
        return attribution.origin_asn is not None and str(attribution.origin_asn) == rule.value
    try:
        address = ipaddress.ip_address(attribution.ip or "")
    except ValueError:
        return False
    network = ipaddress.ip_network(rule.value)
    return address.version == network.version and address in network


def inhibited(session: Session, case: Case, now: datetime) -> Inhibition | None:
    """The live rule that keeps ``case``'s notice back at ``now``, if any (planning's check).

    A match postpones the case's next message to the rule's expiry and records why on the case.
    """
    cached = session.info.get(_CACHE)
    if cached is None or cached[0] != now:  # once per planning pass, not once per due case
        cached = session.info[_CACHE] = (now, live_rules(session, now))
    rules = cached[1]
    if not rules:
        return None
    needs_address = any(rule.kind in ("asn", "prefix") for rule in rules)
    attribution = (
        session.get(Attribution, case.attribution_id)
        if needs_address and case.attribution_id
        else None
    )
    for rule in rules:
        if _matches(rule, case, attribution):
            case.next_message_at = rule.expires_at
            record(
                session,
                at=now,
                actor="workflow",
                action="case.inhibited",
                object_type="case",
                object_id=case.id,
                reason=rule.reason,
                data={
                    "inhibition": rule.id,
                    "kind": rule.kind,
                    "value": rule.value,
                    "until": rule.expires_at.isoformat(),
                },
            )
            return rule
    return None


@dataclass(frozen=True)
class RuleView:
    """A rule as listed: its value readable (a provider by name) and whether it applies."""

    id: int
    kind: str
    value: str
    reason: str
    created_at: datetime
    created_by: str
    expires_at: datetime
    removed_at: datetime | None
    status: str  # live | expired | removed
    cases_held: int

    def as_dict(self) -> dict[str, Any]:
        row = dict(self.__dict__)
        for key in ("created_at", "expires_at", "removed_at"):
            row[key] = row[key].isoformat().replace("+00:00", "Z") if row[key] else None
        return row


def list_inhibitions(
    session: Session, now: datetime, *, everything: bool = False
) -> list[RuleView]:
    """Live rules (or all, with ``everything``) and how many cases each has held back."""
    names = {pid: name for pid, name in session.execute(select(Provider.id, Provider.name))}
    held: dict[int, set[str]] = {}
    for object_id, data in session.execute(
        select(AuditEvent.object_id, AuditEvent.data).where(AuditEvent.action == "case.inhibited")
    ):
        held.setdefault(int((data or {}).get("inhibition", 0)), set()).add(object_id)
    views = []
    for rule in session.scalars(select(Inhibition).order_by(Inhibition.id)):
        if rule.removed_at is not None and rule.removed_at <= now:
            status = "removed"
        elif rule.expires_at <= now:
            status = "expired"
        else:
            status = "live"
        if status != "live" and not everything:
            continue
        value = rule.value
        if rule.kind == "provider":
            value = names.get(int(rule.value), value)
        elif rule.kind == "asn":
            value = f"AS{rule.value}"
        views.append(
            RuleView(
                id=rule.id,
                kind=rule.kind,
                value=value,
                reason=rule.reason,
                created_at=rule.created_at,
                created_by=rule.created_by,
                expires_at=rule.expires_at,
                removed_at=rule.removed_at,
                status=status,
                cases_held=len(held.get(rule.id, ())),
            )
        )
    return views


def case_inhibitions(session: Session, case_id: int) -> list[AuditEvent]:
    """Why a case's notices were kept back: its ``case.inhibited`` events, oldest first."""
    return list(
        session.scalars(
            select(AuditEvent)
            .where(
                AuditEvent.action == "case.inhibited",
                AuditEvent.object_type == "case",
                AuditEvent.object_id == str(case_id),
            )
            .order_by(AuditEvent.seq)
        )
    )
