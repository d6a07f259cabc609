"""Delivering a message to a contact's HTTPS webhook: the JSON, its signature, and the outcome.

The request is ``POST <webhook_url>`` with ``Content-Type: application/json`` and the body
:func:`payload` builds (the message's ticket, kind, subject and text, its X-ARF reports, and for a
removal order the order itself). Two headers let the receiver trust and de-duplicate it:

- ``X-Hostwatch-Signature: t=<unix seconds>,v1=<hex>``, where ``<hex>`` is
  HMAC-SHA256(contact's secret, ``"<t>." + body bytes``). The receiver recomputes it over the
  raw body and compares in constant time; ``t`` (the attempt's time) lets it refuse old replays.
- ``Idempotency-Key: <Message-ID>``: the same on every attempt for one message (it is also
  ``delivery_id`` in the body), so a receiver that sees it twice can answer 2xx and drop it.

Outcomes, as for SMTP: a 2xx is ``sent`` (journalled at once, before the caller commits, so a
crash after the receiver's 2xx does not post again); a 5xx, 408, 429, a timeout or a connection
error is ``tempfail`` (retried with the notice chain's backoff); any other 4xx, and a redirect
(never followed: the signed body goes only where the contact said), is ``failed``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import ssl
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from hostwatch.model.case import Case
from hostwatch.model.message import Message
from hostwatch.model.order import Order, OrderCase
from hostwatch.model.party import Contact, Provider
from hostwatch.model.url import Url

SIGNATURE_HEADER = "X-Hostwatch-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"
PAYLOAD_VERSION = 1
_TEMPORARY_4XX = (408, 429)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The ``X-Hostwatch-Signature`` value for ``body`` posted at ``timestamp``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def _order(session: Session, message: Message) -> dict[str, Any] | None:
    order = session.scalar(select(Order).where(Order.message_id == message.id))
    if order is None:
        return None
    provider = session.get(Provider, order.provider_id)
    urls = session.execute(
        select(Case.id, Url.url)
        .join(OrderCase, OrderCase.case_id == Case.id)
        .join(Url, Url.id == Case.url_id)
        .where(OrderCase.order_id == order.id)
        .order_by(Case.id)
    ).all()
    return {
        "reference": order.reference,
        "provider": provider.name if provider else None,
        "classification": order.classification,
        "basis": order.basis,
        "issued_at": _iso(order.issued_at),
        "deadline_at": _iso(order.deadline_at),
        "cases": [{"case_id": case_id, "url": url} for case_id, url in urls],
    }


def payload(session: Session, message: Message) -> bytes:
    """The JSON body for ``message``: the same bytes on every attempt (keys sorted)."""
    document: dict[str, Any] = {
        "version": PAYLOAD_VERSION,
        "delivery_id": message.message_id_header,
        "ticket": message.ticket,
        "kind": message.kind,
        "subject": message.subject,
        "text": message.body,
        "created_at": _iso(message.created_at),
        "reports": (message.xarf or {}).get("reports", []),
    }
    if message.kind == "order":
        document["order"] = _order(session, message)
    return json.dumps(document, sort_keys=True, ensure_ascii=True).encode()


def post(
    contact: Contact,
    body: bytes,
    message: Message,
    at: datetime,
    *,
    tls_context: ssl.SSLContext,
    timeout: float,
) -> tuple[str, int | None, str | None]:
    """Post ``body`` to ``contact`` signed at ``at``; return (outcome, HTTP status, detail).

    The caller journals a ``sent`` at once (see :class:`hostwatch.takedown.send.Transport`).
    """
    if not contact.webhook_url or not contact.webhook_secret:
        return "failed", None, "contact has no webhook URL or secret"
    headers = {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: signature(contact.webhook_secret, int(at.timestamp()), body),
        IDEMPOTENCY_HEADER: message.message_id_header,
        "User-Agent": "hostwatch-webhook/1",
    }
    try:
        with (
            httpx.Client(verify=tls_context, timeout=timeout, follow_redirects=False) as client,
            client.stream("POST", contact.webhook_url, content=body, headers=headers) as response,
        ):  # the status line is the answer: the response body is never read
            status = response.status_code
            detail = f"HTTP {status} {response.reason_phrase}"[:500]
    except httpx.HTTPError as exc:  # timeouts, refused or reset connections, TLS failures
        return "tempfail", None, f"{type(exc).__name__}: {exc}"[:500]
    if 200 <= status < 300:
        return "sent", status, detail
    if status >= 500 or status in _TEMPORARY_4XX:
        return "tempfail", status, detail
    if 300 <= status < 400:
        return "failed", status, f"{detail}: redirects are not followed"
    return "failed", status, detail
