"""API tokens, portal sessions and the principal they stand for.

A token is random, shown once when created and stored only as its SHA-256 digest: a stolen
database does not yield usable tokens. Tokens expire and can be revoked; every check happens on
each request so that a revocation takes effect at once.

The portal never keeps the token in the browser: logging in with a token opens a server-side
session whose random id (stored as a digest too) is the cookie. A new id at every login (the
one presented before, if any, is closed), closed at logout, expiring after ``SESSION_HOURS``,
and dead as soon as its token is revoked or expires.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from hostwatch.model import ApiToken, PortalSession, Provider
from hostwatch.model.audit import record

ROLES = ("admin", "analyst", "researcher", "regulator", "provider")
TOKEN_PREFIX = "hw_"  # noqa: S105 - a visible marker, not a secret
_LAST_USED_GRANULARITY = timedelta(minutes=1)
SESSION_HOURS = 12


class AuthError(Exception):
    """The presented credential does not grant access; the message is safe to show."""


@dataclass(frozen=True)
class Principal:
    """Who is asking: the role decides what, ``provider_id`` decides whose."""

    token_id: int | None
    role: str
    provider_id: int | None = None
    label: str | None = None

    @property
    def actor(self) -> str:
        """The name written to the audit log (never the token itself)."""
        return f"token:{self.token_id}:{self.role}"


@dataclass(frozen=True)
class NewToken:
    id: int
    token: str
    role: str
    provider_id: int | None
    expires_at: datetime | None


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def create_token(
    session: Session,
    *,
    role: str,
    now: datetime,
    provider_name: str | None = None,
    expires_days: float | None = None,
    label: str | None = None,
    actor: str = "cli",
) -> NewToken:
    """Make a token for ``role``; a provider token must name an existing provider."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; choose one of {', '.join(ROLES)}")
    provider_id = None
    if role == "provider":
        if not provider_name:
            raise ValueError("a provider token needs --provider NAME")
        provider_id = session.scalar(select(Provider.id).where(Provider.name == provider_name))
        if provider_id is None:
            raise ValueError(f"no provider named {provider_name!r}")
    elif provider_name:
        raise ValueError("--provider applies only to --role provider")
    if expires_days is not None and expires_days <= 0:
        raise ValueError("--expires-days must be positive")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    expires_at = now + timedelta(days=expires_days) if expires_days else None
    row = ApiToken(
        token_hash=token_hash(token),
        role=role,
        provider_id=provider_id,
        label=label,
        created_at=now,
        expires_at=expires_at,
    )
    session.add(row)
    session.flush()
    data = {"role": role, "provider_id": provider_id, "label": label}
    record(
        session,
        at=now,
        actor=actor,
        action="token.created",
        object_type="api_token",
        object_id=row.id,
        data=data,
    )
    return NewToken(row.id, token, role, provider_id, expires_at)


def authenticate(session: Session, token: str, now: datetime) -> Principal:
    """The principal for a presented token, or AuthError (one message for every failure).

    Reads only: a request's authentication never waits for a writer. ``last_used_at`` is
    written apart, by :func:`touch_token`.
    """
    return authenticate_until(session, token, now)[0]


def authenticate_until(
    session: Session, token: str, now: datetime
) -> tuple[Principal, datetime | None]:
    """:func:`authenticate`, and until when the clock alone leaves the answer valid (the
    token's expiry; None: no expiry), so that it can be kept while the data is unchanged."""
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == token_hash(token)))
    return _principal(row, now), row.expires_at if row is not None else None


def _principal(row: ApiToken | None, now: datetime) -> Principal:
    if row is None or row.revoked_at is not None or (row.expires_at and row.expires_at <= now):
        raise AuthError("invalid, expired or revoked token")
    if row.role == "provider" and row.provider_id is None:
        raise AuthError("provider token without a provider")
    return Principal(row.id, row.role, row.provider_id, row.label)


def touch_token(session: Session, token_id: int, now: datetime) -> None:
    """Note that the token was used (to the minute: one write per token per minute at most)."""
    session.execute(
        update(ApiToken)
        .where(
            ApiToken.id == token_id,
            or_(
                ApiToken.last_used_at.is_(None),
                ApiToken.last_used_at <= now - _LAST_USED_GRANULARITY,
            ),
        )
        .values(last_used_at=now)
    )


def open_portal_session(
    session: Session, token: str, now: datetime, replaces: str | None = None
) -> tuple[str, Principal]:
    """Log in with ``token``: a new session id (for the cookie) and the principal.

    ``replaces`` is the session id the browser presented, if any: it is closed, so a session id
    planted in a browser before login (session fixation) is worth nothing after it.
    """
    principal = authenticate(session, token, now)
    if replaces:
        close_portal_session(session, replaces, now)
    # Dead sessions open nothing; pruning them at each login keeps the table as small as the
    # number of live logins instead of growing with every login ever made.
    session.execute(
        delete(PortalSession).where(
            or_(PortalSession.expires_at <= now, PortalSession.revoked_at.is_not(None))
        )
    )
    session_id = secrets.token_urlsafe(32)
    session.add(
        PortalSession(
            session_hash=token_hash(session_id),
            token_id=principal.token_id,
            created_at=now,
            expires_at=now + timedelta(hours=SESSION_HOURS),
        )
    )
    return session_id, principal


def session_principal(session: Session, session_id: str, now: datetime) -> Principal:
    """The principal behind a portal session id, or AuthError if closed, expired or orphaned."""
    row = session.execute(
        select(PortalSession, ApiToken)
        .join(ApiToken, ApiToken.id == PortalSession.token_id)
        .where(PortalSession.session_hash == token_hash(session_id))
    ).first()
    if row is None or row[0].revoked_at is not None or row[0].expires_at <= now:
        raise AuthError("session closed or expired; log in again")
    return _principal(row[1], now)


def close_portal_session(session: Session, session_id: str, now: datetime) -> None:
    """End a portal session (logout): its id no longer opens anything, in any worker."""
    session.execute(
        update(PortalSession)
        .where(
            PortalSession.session_hash == token_hash(session_id),
            PortalSession.revoked_at.is_(None),
        )
        .values(revoked_at=now)
    )


def list_tokens(session: Session) -> list[ApiToken]:
    return list(session.scalars(select(ApiToken).order_by(ApiToken.id)))


def revoke_token(session: Session, token_id: int, now: datetime, actor: str = "cli") -> ApiToken:
    row = session.get(ApiToken, token_id)
    if row is None:
        raise ValueError(f"no token with id {token_id}")
    if row.revoked_at is None:
        row.revoked_at = now
        record(
            session,
            at=now,
            actor=actor,
            action="token.revoked",
            object_type="api_token",
            object_id=row.id,
        )
    return row
