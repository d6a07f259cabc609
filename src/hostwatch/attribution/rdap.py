"""Registrar contacts from RDAP: for each registered domain of a reported URL, the registrar and
its abuse desk, as automatic contacts (role ``registrar``, scoped to the domain).

The escalation ladder ends at the registrar (SCART: hoster, site owner, registrar); typed in by
hand it rarely exists. The registry's RDAP server, found through IANA's bootstrap file (imported
with ``hostwatch data import``, never downloaded at run time), names it. Answers are cached on disk
by the client; a domain whose server fails or has no abuse address is counted with its reason
and the rest go on. A manual registrar contact for the domain always wins in the contact book.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from hostwatch.model.notice import Notice
from hostwatch.model.party import Contact
from hostwatch.model.url import Url
from hostwatch.net.rdap import RdapError, RdapNotFound

if TYPE_CHECKING:
    from hostwatch.net.rdap import RdapClient


@dataclass
class RegistrarSummary:
    """What a pass did: contacts written, and per reason the domains that gave none."""

    written: int = 0
    failed: Counter[str] = field(default_factory=Counter)


def domains_without_registrar(session: Session) -> list[str]:
    """Registered domains of noticed URLs with no manual registrar contact, sorted."""
    manual = select(Contact.domain).where(
        Contact.role == "registrar", Contact.source == "manual", Contact.domain.is_not(None)
    )
    query = (
        select(Url.registered_domain)
        .where(Url.registered_domain.is_not(None), Url.host_type == "domain")
        .where(Url.id.in_(select(Notice.url_id)))
        .where(Url.registered_domain.not_in(manual))
        .distinct()
        .order_by(Url.registered_domain)
    )
    return [name for name in session.scalars(query) if name]


def registrar_contacts(
    session: Session,
    client: RdapClient,
    *,
    now: datetime,
    domains: Iterable[str] | None = None,
    progress: bool = False,
) -> RegistrarSummary:
    """Ask RDAP for each domain's registrar and store its abuse desk as an automatic contact."""
    from hostwatch.takedown.contacts import automatic_registrar_contact

    names = list(domains) if domains is not None else domains_without_registrar(session)
    summary = RegistrarSummary()
    bar = None
    if progress and names:
        from rich.progress import Progress

        bar = Progress(transient=True)
        task = bar.add_task("registrars (RDAP)", total=len(names))
        bar.start()
    try:
        for name in names:
            try:
                found = client.domain(name)
            except RdapError as exc:
                summary.failed[_reason(exc)] += 1
            else:
                if found.abuse_contact is None:
                    summary.failed["no abuse address"] += 1
                else:
                    contact = automatic_registrar_contact(
                        session,
                        domain=name,
                        name=found.registrar or found.abuse_contact,
                        address=found.abuse_contact,
                        provenance=f"rdap {found.url}"
                        + (
                            f" (IANA registrar {found.registrar_iana_id})"
                            if found.registrar_iana_id
                            else ""
                        ),
                        now=now,
                    )
                    summary.written += contact is not None
            if bar is not None:
                bar.update(task, advance=1)
    finally:
        if bar is not None:
            bar.stop()
    return summary


def _reason(exc: RdapError) -> str:
    if isinstance(exc, RdapNotFound):
        return "not found"
    if "no RDAP server" in str(exc):
        return "no RDAP server for the TLD"
    return "RDAP error"
