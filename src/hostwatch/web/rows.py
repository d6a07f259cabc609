"""How cases, attributions and providers look on the wire, with or without identifiers.

One function per record kind so that the API, the feed, the portal and the dossier say the same
thing. Field names follow ``hostwatch cases --format json`` (url, provider, state,
first_message_at, removed_at, takedown_seconds) plus IntelMQ-style names for attribution fields;
``takedown_seconds`` comes from :func:`hostwatch.metrics.takedown.takedown_seconds`.
A principal that may not see identifiers (a researcher) gets a keyed pseudonym instead of the URL
and never a host or an IP.

Lists read a case as the row of :data:`CASE_COLUMNS` (a plain SQL projection), not as an ORM
object: building and tracking 50 ``Case`` objects cost more than the rest of a page of the API's
case list. :func:`case_row` takes either, since both have the same attribute names.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Row

from hostwatch import harmonisation as hw
from hostwatch.metrics.pseudonymise import pseudonym
from hostwatch.metrics.takedown import takedown_seconds
from hostwatch.model import Attribution, Case, Provider, Url

CASE_COLUMNS = (
    Case.id,
    Case.url_id,
    Case.provider_id,
    Case.reseller,
    Case.country,
    Case.classification,
    Case.state,
    Case.state_since,
    Case.held,
    Case.opened_at,
    Case.first_message_at,
    Case.last_message_at,
    Case.messages_sent,
    Case.escalation_level,
    Case.last_online_at,
    Case.removed_at,
    Case.closed_at,
    Url.url,
    Provider.name.label("provider_name"),
)
"""What :func:`case_row` reads, as columns of cases joined with urls and (outer) providers."""


def iso(value: datetime | None) -> str | None:
    """ISO 8601 with the UTC offset, exactly as ``hostwatch cases --format json`` writes it."""
    return value.isoformat() if value else None


def url_pseudonym(url_id: int, key: str) -> str:
    """The researcher export's keyed token for a URL id, so API rows and exports link up."""
    return pseudonym(str(url_id), key)


def case_row(
    case: Case | Row[Any],
    url: str,
    provider: str | None,
    *,
    identifiers: bool,
    pseudonym_key: str,
) -> dict[str, Any]:
    """One case on the wire, from a ``Case`` or a row of :data:`CASE_COLUMNS`."""
    reseller = case.reseller
    if reseller and not identifiers:
        reseller = pseudonym(reseller, pseudonym_key)
    return {
        "id": case.id,
        **(
            {"url": url}
            if identifiers
            else {"url_pseudonym": url_pseudonym(case.url_id, pseudonym_key)}
        ),
        "provider": provider,
        "provider_id": case.provider_id,
        "reseller": reseller,
        "country": case.country,
        "classification": case.classification,
        "state": case.state,
        "state_since": iso(case.state_since),
        "held": case.held,
        "opened_at": iso(case.opened_at),
        "first_message_at": iso(case.first_message_at),
        "last_message_at": iso(case.last_message_at),
        "messages_sent": case.messages_sent,
        "escalation_level": case.escalation_level,
        "last_online_at": iso(case.last_online_at),
        "removed_at": iso(case.removed_at),
        "closed_at": iso(case.closed_at),
        "takedown_seconds": takedown_seconds(case.first_message_at, case.removed_at),
    }


def case_rows(
    rows: Iterable[Row[Any]], *, identifiers: bool, pseudonym_key: str
) -> list[dict[str, Any]]:
    """Rows of :data:`CASE_COLUMNS` on the wire, in order."""
    return [
        case_row(
            row, row.url, row.provider_name, identifiers=identifiers, pseudonym_key=pseudonym_key
        )
        for row in rows
    ]


def attribution_row(
    att: Attribution, url: str, provider: str | None, *, identifiers: bool, pseudonym_key: str
) -> dict[str, Any]:
    row: dict[str, Any] = {"id": att.id, hw.TIME_OBSERVATION: iso(att.at)}
    if identifiers:
        row.update(
            {
                hw.SOURCE_URL: url,
                hw.SOURCE_FQDN: att.host,
                hw.SOURCE_IP: att.ip,
                hw.EXTRA_SOURCE_IPS: att.ips,
                hw.SOURCE_NETWORK: att.prefix,
                hw.SOURCE_ABUSE_CONTACT: att.abuse_contact,
                "whois_chain": att.whois_chain,
            }
        )
    else:
        row["url_pseudonym"] = url_pseudonym(att.url_id, pseudonym_key)
    reseller = att.reseller
    if reseller and not identifiers:
        reseller = pseudonym(reseller, pseudonym_key)
    row.update(
        {
            "status": att.status,
            hw.SOURCE_ASN: att.origin_asn,
            hw.SOURCE_AS_NAME: att.as_name,
            hw.EXTRA_SOURCE_AS_ORG: att.as_org,
            hw.SOURCE_GEOLOCATION_CC: att.country,
            "provider": provider,
            "provider_id": att.provider_id,
            "reseller": reseller,
            "behind_cdn": att.behind_cdn,
            "computed_at": iso(att.computed_at),
            "sources": att.sources,
        }
    )
    return row


def provider_row(provider: Provider) -> dict[str, Any]:
    return {
        "id": provider.id,
        "name": provider.name,
        "kind": provider.kind,
        "country": provider.country,
        "is_cdn": provider.is_cdn,
        "is_shared_platform": provider.is_shared_platform,
        "source": provider.source,
    }
