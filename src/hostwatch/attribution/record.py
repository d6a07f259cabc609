"""The attribution record: its statuses, the WHOIS chain as stored, reseller, and the latest row.

An ``Attribution`` row is a derived result. Recomputing adds a row; readers take the newest row
(highest ``computed_at``, then id) for a notice or URL. Statuses:

* ``ok``: an address was found and a route covers it;
* ``no-address``: nothing to look up (no A/AAAA, or the reported address is not an address);
* ``dns-failed``: the resolver said NXDOMAIN, SERVFAIL or did not answer;
* ``bogon``: the address is private, loopback, documentation or other special-purpose space;
* ``unrouted``: no route in the routing snapshot covers the address;
* ``no-contemporaneous-address``: a historical notice whose host has no reported address and
  no DNS answer of the notice's time (see :mod:`.staleness`); not resolved with today's DNS
  unless asked for.

Every status other than ``ok`` carries a ``reason`` a person can read.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hostwatch.attribution.parties import PRIVATE_INDIVIDUAL, unnamed
from hostwatch.model import Attribution
from hostwatch.net.party_kind import NATURAL_PERSON

if TYPE_CHECKING:
    from hostwatch.net.whois_tree import WhoisLink

OK = "ok"
NO_ADDRESS = "no-address"
DNS_FAILED = "dns-failed"
BOGON = "bogon"
UNROUTED = "unrouted"
NO_CONTEMPORANEOUS_ADDRESS = "no-contemporaneous-address"
STATUSES = (OK, NO_ADDRESS, DNS_FAILED, BOGON, UNROUTED, NO_CONTEMPORANEOUS_ADDRESS)


def link_record(link: WhoisLink) -> dict[str, Any]:
    """One WHOIS chain link as stored in ``whois_chain`` (JSON); a natural person's link names
    no one (:func:`hostwatch.attribution.parties.unnamed`)."""
    return unnamed(
        {
            "range": f"{link.first_address} - {link.last_address}",
            "key": link.key,
            "netname": link.netname,
            "status": link.status,
            "level": link.level,
            "org_id": link.org_id,
            "org_name": link.org_name,
            "country": link.country,
            "abuse_mailbox": link.abuse_mailbox,
            "abuse_inherited_from": link.abuse_inherited_from,
            "source": link.source,
            "kind": link.kind,
            "org_country": link.org_country,
        }
    )


def holder_and_reseller(
    chain: Sequence[WhoisLink],
) -> tuple[WhoisLink | None, WhoisLink | None]:
    """The network holder (most specific allocation) and the reseller below it, if any.

    The reseller is the most specific sub-allocation (``SUB-ALLOCATED PA``, ``REALLOCATED``)
    under the holder whose organisation is not the holder's: the party renting the space on.
    Assignments below it are customers, not resellers.
    """
    holder_at = next((i for i, link in enumerate(chain) if link.level == "holder"), None)
    holder = chain[holder_at] if holder_at is not None else None
    below = chain[:holder_at] if holder_at is not None else chain
    for link in below:
        if link.level != "reseller":
            continue
        if holder is not None and _party(link) == _party(holder):
            continue
        return holder, link
    return holder, None


def _party(link: WhoisLink) -> str:
    return (link.org_id or link.org_name or link.netname or link.key).upper()


def reseller_label(link: WhoisLink) -> str:
    """How the reseller is named in the record: organisation name and handle; a natural person
    is never named (:func:`hostwatch.attribution.parties.shown_name`)."""
    if link.kind == NATURAL_PERSON:
        return PRIVATE_INDIVIDUAL
    name = link.org_name or link.netname or link.key
    return f"{name} ({link.org_id})" if link.org_id and link.org_id != name else name


def latest_for_notices(session: Session, notice_ids: Iterable[int]) -> dict[int, Attribution]:
    """The newest attribution of each notice (recomputations add rows; the last one counts)."""
    ids = list(notice_ids)
    out: dict[int, Attribution] = {}
    for start in range(0, len(ids), 5000):
        chunk = ids[start : start + 5000]
        newest = (
            select(Attribution.notice_id, func.max(Attribution.id).label("id"))
            .where(Attribution.notice_id.in_(chunk))
            .group_by(Attribution.notice_id)
            .subquery()
        )
        for row in session.scalars(select(Attribution).join(newest, newest.c.id == Attribution.id)):
            out[row.notice_id] = row
    return out


def latest_for_url(session: Session, url_id: int) -> Attribution | None:
    """The newest attribution of a URL, whichever notice it was computed for."""
    return session.scalar(
        select(Attribution)
        .where(Attribution.url_id == url_id)
        .order_by(Attribution.computed_at.desc(), Attribution.id.desc())
        .limit(1)
    )


COLUMNS = (
    "url_id",
    "notice_id",
    "at",
    "computed_at",
    "status",
    "reason",
    "host",
    "ips",
    "ip",
    "prefix",
    "origin_asn",
    "origin_asns",
    "as_name",
    "as_org",
    "whois_chain",
    "provider_id",
    "reseller",
    "country",
    "abuse_contact",
    "behind_cdn",
    "shared_platform",
    "parties",
    "sources",
    "ip_origin",
    "stale",
    "stale_reason",
)
"""Column order of the row tuples the chain produces; JSON columns arrive already encoded."""
