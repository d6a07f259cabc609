"""Who is responsible: the chain of parties behind one attributed address, and how it is shown.

The chain runs from the network holder (the organisation of the origin AS) through every
sub-allocation holder below it (the resellers, top down) to the assigned customer. Each party has
the country it is registered in and its kind (organisation, natural person, unknown:
:mod:`hostwatch.net.party_kind`). It is computed once, at attribution time, and stored as the
``parties`` JSON of the attribution row, so figures read it without the reference data.

Countries: the network holder's is the RIR's delegated statistics for the address (the country
of the organisation the block was allocated to), else its WHOIS organisation's, else the AS
registry's; a reseller's or customer's is its organisation object's ``country``, else the
inetnum's. ``country_source`` says which.

Natural persons are counted, never named: :func:`unnamed` is the one place that decides how a
party or WHOIS link may be named, and it is applied when the attribution is written, so no
natural person's name or handle (nor a network named after them) is ever stored in an
attribution; every report, export, feed, page, API answer and notice reads from there. The WHOIS
dump or RDAP answer the attribution was computed from still holds the name, so nothing is lost
that a recomputation would need.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from hostwatch.net.party_kind import NATURAL_PERSON, UNKNOWN, rdap_kind

if TYPE_CHECKING:
    from hostwatch.net.rdap import RdapNetwork
    from hostwatch.net.whois_tree import WhoisLink

NETWORK_HOLDER = "network-holder"
RESELLER = "reseller"
CUSTOMER = "customer"
LEVELS = (NETWORK_HOLDER, RESELLER, CUSTOMER)
PRIVATE_INDIVIDUAL = "private individual"


def _party_key(link: WhoisLink) -> str:
    return (link.org_id or link.org_name or link.netname or link.key).upper()


def unnamed(record: dict[str, Any]) -> dict[str, Any]:
    """A party or WHOIS link record as it may be stored and shown: for a natural person, the
    name reads "private individual" and the handle and network name are dropped."""
    if record.get("kind") != NATURAL_PERSON:
        return record
    out = dict(record)
    for key in ("name", "org_name"):
        if key in out:
            out[key] = PRIVATE_INDIVIDUAL
    for key in ("handle", "org_id", "netname"):
        if key in out:
            out[key] = None
    return out


def _link_party(level: str, link: WhoisLink) -> dict[str, Any]:
    country, source = (
        (link.org_country, "rpsl-organisation") if link.org_country else (link.country, "rpsl")
    )
    if country in ("EU", "ZZ", ""):
        country, source = None, None
    return unnamed(
        {
            "level": level,
            "name": link.org_name or link.netname or link.key,
            "handle": link.org_id or link.key,
            "country": country,
            "country_source": source if country else None,
            "kind": link.kind,
        }
    )


def rdap_party(network: RdapNetwork) -> dict[str, Any]:
    """The registrant of an RDAP ip network as a party; its level from the network's type
    (RIPE and LACNIC statuses, ARIN's "DIRECT ALLOCATION"/"REASSIGNED"...)."""
    from hostwatch.net.whois_tree import allocation_level

    level = allocation_level(network.type)
    if level == "other":
        level = "holder" if "ALLOCAT" in (network.type or "").upper() else "customer"
    registrants = network.entities_with_role("registrant")
    registrant = registrants[0] if registrants else None
    country = network.country if network.country not in (None, "EU", "ZZ") else None
    return unnamed(
        {
            "level": {"holder": NETWORK_HOLDER}.get(level, level),
            "name": (registrant.name if registrant else None) or network.name or network.handle,
            "handle": (registrant.handle if registrant else None) or network.handle,
            "country": country,
            "country_source": "rdap" if country else None,
            "kind": rdap_kind(network),
        }
    )


def party_chain(
    *,
    asn: int | None,
    as_org: str | None,
    as_country: str | None,
    delegated_country: str | None,
    whois: Sequence[WhoisLink],
    rdap: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """The parties, network holder first, reseller(s) next, the customer last.

    ``rdap`` is the registrant of the address's RDAP network (:func:`rdap_party`), used where no
    WHOIS chain describes the address: a holder-level registrant gives the holder its kind and
    country, another one is a reseller or customer of its own.
    """
    holder_at = next((i for i, link in enumerate(whois) if link.level == "holder"), None)
    holder_link = whois[holder_at] if holder_at is not None else None
    parties: list[dict[str, Any]] = []
    rdap_holder = rdap if rdap is not None and rdap["level"] == NETWORK_HOLDER else None
    if as_org or holder_link is not None or rdap_holder is not None:
        holder = _link_party(NETWORK_HOLDER, holder_link) if holder_link is not None else {}
        holder = holder or dict(rdap_holder or {})
        country, source = holder.get("country"), holder.get("country_source")
        if delegated_country:
            country, source = delegated_country, "delegated"
        elif not country and as_country:
            country, source = as_country, "asnames"
        parties.append(
            {
                "level": NETWORK_HOLDER,
                "name": as_org or holder.get("name"),
                "handle": f"AS{asn}" if asn else holder.get("handle"),
                "country": country,
                "country_source": source if country else None,
                "kind": holder.get("kind", UNKNOWN),
            }
        )
    below = list(whois[:holder_at] if holder_at is not None else whois)
    seen = {_party_key(holder_link)} if holder_link is not None else set()
    for link in reversed(below):  # top down
        if link.level != "reseller" or _party_key(link) in seen:
            continue
        seen.add(_party_key(link))
        parties.append(_link_party(RESELLER, link))
    if whois and whois[0].level == "customer" and _party_key(whois[0]) not in seen:
        parties.append(_link_party(CUSTOMER, whois[0]))
    if not whois and rdap is not None and rdap_holder is None:
        parties.append(dict(rdap))
    return parties


def shown_name(party: Mapping[str, Any]) -> str:
    """A party's name as any output may show it (:func:`unnamed`)."""
    named = unnamed(dict(party))
    return str(named.get("name") or named.get("handle") or "(unnamed)")


def shown_party(party: Mapping[str, Any]) -> dict[str, Any]:
    """A party as outputs carry it: level, name, handle (:func:`unnamed`), country and kind.

    A natural person's handle is a name too (RIPE handles are initials): it is dropped.
    """
    named = unnamed(dict(party))
    return {
        "level": named.get("level"),
        "name": shown_name(named),
        "handle": named.get("handle"),
        "country": named.get("country"),
        "kind": named.get("kind") or UNKNOWN,
    }
