"""The text of a removal order as the provider's order desk receives it.

It names the order's reference, the legal basis, every URL, the deadline in UTC and in the
regulator's local time, and how to acknowledge and object. It goes out as a message of kind
``order`` through the notice chain's transport, by the order contact's channel (e-mail or
webhook), so its delivery is recorded (and proven) like any notice's; it is not linked to the
cases as a notice, so it does not start or reset their takedown clock.
"""

from __future__ import annotations

from datetime import datetime

from hostwatch.enforcement.deadlines import Kind, OrderPolicy
from hostwatch.model.message import Message
from hostwatch.model.order import Order
from hostwatch.model.party import Contact, Provider
from hostwatch.settings import Settings
from hostwatch.takedown.compose import display_url, message_id, safe_subject
from hostwatch.takedown.contacts import destination


def _when(instant: datetime, policy: OrderPolicy) -> str:
    local = instant.astimezone(policy.timezone)
    return (
        f"{instant:%Y-%m-%d %H:%M} UTC "
        f"({local:%Y-%m-%d %H:%M} {local.tzname()}, {policy.timezone.key})"
    )


def order_message(
    order: Order,
    provider: Provider,
    contact: Contact,
    urls: list[str],
    kind: Kind,
    policy: OrderPolicy,
    settings: Settings,
    now: datetime,
) -> Message:
    """The message carrying ``order`` to ``contact`` (not yet sent)."""
    deadline = _when(order.deadline_at, policy)
    lines = [
        f"Removal order {order.reference}",
        "",
        f"To: {safe_subject(provider.name, 300)} (order contact: {destination(contact)})",
        f"Issued: {_when(order.issued_at, policy)}",
        f"Legal basis: {safe_subject(order.basis, 1000)}",
        f"Content: {kind.label}",
        "",
        f"You are ordered to remove or disable access to the following "
        f"{'location' if len(urls) == 1 else f'{len(urls)} locations'} "
        f"within {order.deadline_hours:g} hours, that is before {deadline}:",
        "",
        *(f"  {n}. {display_url(url)}" for n, url in enumerate(urls, 1)),
        "",
        "Compliance is judged from liveness checks (DNS, connect and response headers only; no",
        "content is retrieved): a location verified reachable at or after the deadline counts",
        "as not removed.",
        "",
        "Acknowledge receipt or object to this order:",
        f"  - in the provider portal, page /orders/{order.reference}",
        f"  - or POST /api/v1/orders/{order.reference}/acknowledge (or /objection, with your",
        "    grounds) with your provider token.",
        "An objection does not suspend the deadline.",
        "",
        f"{settings.notifier_name}",
    ]
    return Message(
        ticket=order.reference,
        contact_id=contact.id,
        to_address=destination(contact),
        kind="order",
        escalation_level=0,
        subject=safe_subject(
            f"[{order.reference}] Removal order: {kind.label}, deadline {deadline}"
        ),
        body="\n".join(lines) + "\n",
        xarf=None,
        message_id_header=message_id(order.reference, settings),
        created_at=now,
    )
