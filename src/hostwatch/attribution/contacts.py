"""Hand-entered contacts that beat any registry data when choosing the abuse contact.

A hotline knows better than WHOIS where a reseller's abuse desk is: ``hostwatch contacts add
--network CIDR --email ADDR`` writes a manual Contact scoped to a network, and a manual contact of a
provider without a network covers all its space. Only active provider or reseller contacts with an
address count, never one marked do-not-notify.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from hostwatch.attribution.prefix_index import PrefixIndex
from hostwatch.model import Contact
from hostwatch.net.addresses import AddressArray

MANUAL = "manual"
# a network contact reaches whoever holds that network; upstreams, registrars and authorities
# are escalation targets, never the first abuse contact
NETWORK_ROLES = ("provider", "reseller")


@dataclass(frozen=True, slots=True)
class ContactHit:
    contact_id: int
    email: str
    network: str | None


class ContactIndex:
    """Manual contacts in memory: by network (longest first) and by provider."""

    def __init__(self, contacts: list[ContactHit], by_provider: dict[int, ContactHit]) -> None:
        self.contacts = contacts
        self.by_provider = by_provider
        self.networks = PrefixIndex(
            (hit.network, i) for i, hit in enumerate(contacts) if hit.network
        )

    @classmethod
    def load(cls, session: Session) -> ContactIndex:
        rows = session.execute(
            select(Contact.id, Contact.email, Contact.network, Contact.provider_id)
            .where(
                Contact.source == MANUAL,
                Contact.role.in_(NETWORK_ROLES),
                Contact.active.is_(True),
                Contact.do_not_notify.is_(False),
                Contact.email.is_not(None),
            )
            .order_by(Contact.id)
        ).all()
        scoped = [ContactHit(r.id, r.email, r.network) for r in rows if r.network]
        by_provider: dict[int, ContactHit] = {}
        for r in rows:
            if not r.network and r.provider_id is not None:
                by_provider.setdefault(r.provider_id, ContactHit(r.id, r.email, None))
        return cls(scoped, by_provider)

    def by_network(self, addresses: AddressArray) -> list[ContactHit | None]:
        found = self.networks.match(addresses)
        return [self.contacts[i] if i >= 0 else None for i in found.tolist()]
