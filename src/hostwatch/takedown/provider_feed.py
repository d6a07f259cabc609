"""What a provider is told about abuse on its own networks: its feed and its daily digest.

A provider hears about the cases in its verified space
(:func:`hostwatch.attribution.asset_match.cases_in_verified_space`) that are open or were removed
or closed in the last ``RECENT_DAYS``, and only once the case's notices may go
(:data:`hostwatch.takedown.triage.NOTICE_MAY_GO`): never of a report no one has assessed yet, or
that an analyst found not illegal. It never hears about other parties: the states
``escalated`` and ``moved`` (which say that someone else was written to, or that the URL moved to
another provider) are told under the names in :data:`PROVIDER_STATES`. The web feed, the portal
and the digest e-mail all take their cases and states from here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import Session

from hostwatch.attribution.asset_match import cases_in_verified_space
from hostwatch.model import Case, Contact, Message, Provider, Url
from hostwatch.settings import Settings
from hostwatch.takedown.compose import message_id, new_ticket, safe_subject
from hostwatch.takedown.triage import NOTICE_MAY_GO

RECENT_DAYS = 30
DONE_STATES = ("removed", "closed")
PROVIDER_STATES = {"escalated": "reachable", "moved": "under-review"}
"""Case states a provider is told under another name: both would tell it about other parties."""

DIGEST_EVERY = timedelta(hours=20)  # "daily", with slack for a run that starts a little early


def provider_state(state: str) -> str:
    """The state as the provider is told it."""
    return PROVIDER_STATES.get(state, state)


def feed_filter(
    session: Session,
    provider_id: int,
    now: datetime,
    space: ColumnElement[bool] | None = None,
) -> ColumnElement[bool]:
    """Which cases the provider's feed holds: in its verified space (``space`` when the caller
    has it already), and open or done recently."""
    since = now - timedelta(days=RECENT_DAYS)
    return and_(
        cases_in_verified_space(session, provider_id) if space is None else space,
        NOTICE_MAY_GO,  # a report waiting for triage, or found not illegal, is not its business
        or_(Case.state.not_in(DONE_STATES), Case.state_since >= since),
    )


def feed_valid_until(rows: Iterable[tuple[str, datetime]]) -> datetime | None:
    """Until when the feed of these (state, state_since) rows stays the same by the clock alone:
    the first done case to grow older than ``RECENT_DAYS`` leaves it then (no case enters it by
    time passing). None: the clock alone never changes it."""
    done = [since for state, since in rows if state in DONE_STATES]
    return min(done) + timedelta(days=RECENT_DAYS) if done else None


FEED_ORDER = (Case.opened_at.desc(), Case.id.desc())
"""The feed's order: newest case first (the id breaks ties)."""


def after_in_feed(space: ColumnElement[bool], after: int) -> ColumnElement[bool]:
    """The cases that follow case ``after`` in :data:`FEED_ORDER`: the next page of a feed read
    in pages, the cursor being the last case id of the page before.

    The cursor is looked up only among the provider's own cases (``space``, from
    :func:`cases_in_verified_space`), so that paging cannot tell it when another provider's case
    was opened; a cursor that is not one of them gives an empty page. A case that left the feed
    since still marks the place.
    """
    opened = select(Case.opened_at).where(Case.id == after, space).scalar_subquery()
    return or_(Case.opened_at < opened, and_(Case.opened_at == opened, Case.id < after))


def feed_cases(
    session: Session, provider_id: int, now: datetime
) -> list[tuple[Case, str, str | None]]:
    """(case, URL, attributed provider name): open cases and those done recently, newest first."""
    rows = session.execute(
        select(Case, Url.url, Provider.name)
        .join(Url, Url.id == Case.url_id)
        .outerjoin(Provider, Provider.id == Case.provider_id)
        .where(feed_filter(session, provider_id, now))
        .order_by(*FEED_ORDER)
    ).all()
    return [(case, url, name) for case, url, name in rows]


@dataclass(frozen=True)
class Digest:
    provider: str
    to: list[str]
    subject: str
    body: str
    open_cases: int

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


def _addresses(session: Session, provider_id: int) -> list[str]:
    contacts = session.scalars(
        select(Contact).where(
            Contact.provider_id == provider_id,
            Contact.active.is_(True),
            Contact.do_not_notify.is_(False),
        )
    )
    return sorted({c.email for c in contacts if c.email})


def compose_digest(session: Session, provider_id: int, now: datetime) -> Digest:
    """The daily digest text for one provider: open cases first, then recent removals."""
    provider = session.get(Provider, provider_id)
    if provider is None:
        raise LookupError(f"no provider {provider_id}")
    rows = feed_cases(session, provider_id, now)
    open_rows = [(c, url) for c, url, _ in rows if c.state not in DONE_STATES]
    done = [c for c, _, _ in rows if c.state in DONE_STATES]
    lines = [
        f"Daily hostwatch digest for {provider.name} ({now:%Y-%m-%d}).",
        "",
        f"Open cases on your networks: {len(open_rows)}",
    ]
    for c, url in open_rows:
        lines.append(
            f"  case {c.id} [{provider_state(c.state)}] since {c.opened_at.isoformat()}: {url}"
        )
    lines += ["", f"Removed or closed in the last {RECENT_DAYS} days: {len(done)}"]
    for c in done:
        removed = c.removed_at.isoformat() if c.removed_at else "-"
        lines.append(f"  case {c.id} [{c.state}] removed {removed}")
    lines += [
        "",
        "No content is attached or linked beyond the reported URLs. Please remove the material",
        "and mark the case resolved in your feed; our checks confirm removal.",
    ]
    subject = f"hostwatch digest: {len(open_rows)} open case(s) on {provider.name}"
    return Digest(
        provider.name,
        _addresses(session, provider_id),
        subject,
        "\n".join(lines) + "\n",
        len(open_rows),
    )


def queue_digests(session: Session, settings: Settings, now: datetime) -> list[int]:
    """Store one digest message per provider with open cases on its networks and an address.

    The messages are intents like every notice: ``hostwatch run`` (the takedown layer's
    delivery) sends them by SMTP or to the outbox. They are linked to no case, so sending one
    never moves a case's notice clock. A provider that got a digest less than 20 h ago is skipped.
    """
    created = []
    for provider_id in session.scalars(select(Provider.id).order_by(Provider.id)):
        digest = compose_digest(session, provider_id, now)
        if not digest.open_cases or not digest.to:
            continue
        for address in digest.to:
            recent = session.scalar(
                select(Message.id).where(
                    Message.kind == "digest",
                    Message.to_address == address,
                    Message.created_at > now - DIGEST_EVERY,
                )
            )
            if recent is not None:
                continue
            ticket = new_ticket(now)
            message = Message(
                ticket=ticket,
                to_address=address,
                kind="digest",
                subject=safe_subject(digest.subject),
                body=digest.body,
                message_id_header=message_id(ticket, settings),
                created_at=now,
            )
            session.add(message)
            session.flush()
            created.append(message.id)
    return created
