"""What kind of party holds a network: an organisation, a natural person, or unknown.

The monitor counts how much reported material sits in private hands; it must never name those
hands. Registries do not say "natural person" outright, so the kind is read from what they do say,
and the rules are kept here, in one place, for RPSL and RDAP alike:

RPSL (RIPE, AFRINIC, APNIC, LACNIC text):
1. *natural person* when the network's holder is named exactly as one of its ``person`` contacts
   (``admin-c``/``tech-c``/``responsible``): an individual registered under their own name. A
   company with a person as its contact (BT's "BT World IPv6 Launch" has Graham Popple) is not;
2. *organisation* when an ``organisation`` object has an ``org-type`` other than ``OTHER`` (LIR,
   RIR, NIR, EU-PI, WHITEPAGES, DIRECT_ASSIGNMENT: only organisations are given those), when the
   status is an allocation or sub-allocation (the RIRs allocate to LIRs, and LIRs sub-allocate to
   businesses that rent space on), or when the holder is an organisation object or LACNIC
   ``owner`` or has a ``role`` contact (a role is a function inside an organisation);
3. *unknown* otherwise: an assignment with only a free-text ``descr`` says too little.

RDAP: the vCard ``kind`` of the network's registrant (the outermost entity with role
``registrant``; AFRINIC gives no roles, then the entity whose handle is the network's ``ORG-``
handle): ``individual`` is a natural person, ``org`` and ``group`` an organisation.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hostwatch.net.rdap import RdapNetwork

ORGANISATION = "organisation"
NATURAL_PERSON = "natural-person"
UNKNOWN = "unknown"
KINDS = (ORGANISATION, NATURAL_PERSON, UNKNOWN)

# org-type values only organisations are given (RIPE, AFRINIC, APNIC); OTHER says nothing.
_ORGANISATION_TYPES = frozenset(
    {"IANA", "RIR", "NIR", "LIR", "WHITEPAGES", "DIRECT_ASSIGNMENT", "EU-PI", "EU-AS"}
)


def _same_name(a: str, b: str) -> bool:
    return " ".join(a.casefold().split()) == " ".join(b.casefold().split())


def rpsl_kind(
    *,
    level: str,
    holder_name: str | None,
    org_type: str | None,
    has_organisation: bool,
    person_names: Iterable[str],
    has_role_contact: bool,
) -> str:
    """The kind of the party holding one inetnum/inet6num (see the module's rules)."""
    if holder_name and any(_same_name(holder_name, name) for name in person_names if name):
        return NATURAL_PERSON
    if org_type and org_type.strip().upper() in _ORGANISATION_TYPES:
        return ORGANISATION
    if level in ("holder", "reseller") or has_organisation or has_role_contact:
        return ORGANISATION
    return UNKNOWN


def vcard_kind(kind: str | None) -> str:
    """A vCard ``kind`` (RFC 6350) as a party kind."""
    text = (kind or "").strip().lower()
    if text == "individual":
        return NATURAL_PERSON
    if text in ("org", "group"):
        return ORGANISATION
    return UNKNOWN


def rdap_kind(network: RdapNetwork) -> str:
    """The kind of the registrant of an RDAP ip network (see the module's rules)."""
    registrants = network.entities_with_role("registrant")
    if registrants:
        return vcard_kind(registrants[0].kind)
    for entity in network.entities:
        if entity.handle and network.handle and entity.handle == network.handle:
            return vcard_kind(entity.kind)
        if entity.handle and entity.handle.upper().startswith("ORG-") and not entity.roles:
            return vcard_kind(entity.kind)
    return UNKNOWN
