"""A provider with cases and hand-written checks: the records the regulator's figures rest on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hostwatch.identity import url_id
from hostwatch.model import Case, Check, Provider, Url
from hostwatch.model.db import session_scope
from hostwatch.takedown.contacts import ContactSpec, add_contact

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


def provider_with_cases(
    db_url: str, name: str, n: int, *, classification: str = "csam", email: bool = True
) -> tuple[int, list[int]]:
    """A provider (with an abuse address unless ``email`` is False) and ``n`` open cases."""
    with session_scope(db_url) as session:
        if email:
            provider_id = add_contact(
                session,
                ContactSpec(name=name, email=f"abuse@{name.split()[0].lower()}.test"),
                now=T0,
            ).provider_id
        else:
            provider = Provider(name=name, created_at=T0, updated_at=T0)
            session.add(provider)
            session.flush()
            provider_id = provider.id
        ids = []
        for i in range(n):
            text = f"http://{name.split()[0].lower()}-{i}.example/p?id={i}"
            uid = url_id(text)
            session.add(
                Url(
                    id=uid,
                    url=text,
                    scheme="http",
                    host=text.split("/")[2],
                    host_type="domain",
                    first_seen_at=T0,
                )
            )
            session.flush()
            case = Case(
                url_id=uid,
                party_key=f"provider:{provider_id}",
                provider_id=provider_id,
                classification=classification,
                state="reachable",
                state_since=T0,
                opened_at=T0,
                country="NL",
            )
            session.add(case)
            session.flush()
            ids.append(case.id)
    return provider_id, ids


def add_checks(
    db_url: str, case_id: int, start: datetime, pattern: list[tuple[float, bool | str]]
) -> None:
    """Checks at ``start + hours``: True online, False a target-side failure, a string an
    inconclusive check with that reason (hostwatch's own fault)."""
    with session_scope(db_url) as session:
        case = session.get(Case, case_id)
        assert case is not None
        for hours, what in pattern:
            inconclusive = what if isinstance(what, str) else None
            session.add(
                Check(
                    url_id=case.url_id,
                    case_id=case_id,
                    checked_at=start + timedelta(hours=hours),
                    outcome="online"
                    if what is True
                    else "dns-fail"
                    if inconclusive
                    else "http-error",
                    online=what is True,
                    http_status=200 if what is True else 404 if what is False else None,
                    inconclusive_reason=inconclusive,
                )
            )
