"""The regulator of the simulated year: removal orders to the slowest Dutch hoster, a sanction at
the year's end, the hoster's reply, the public register and the dossier.

It acts through the real enforcement layer (orders delivered by the same outbox, judged from the
same checks, sanctions under the shipped policy), on fixed days of the year, so a seed gives the
same orders and outcomes every time. The ordered hoster removes a URL some hours after an order
(``Behaviour.order_median_hours``): some orders are met, some missed, and where the hourly grid
of checks straddles a deadline, some cases are undetermined.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from hostwatch.clock import Clock
from hostwatch.enforcement.deadlines import OrderPolicy, OrderPolicyError, load_order_policy
from hostwatch.enforcement.orders import issue_order, view_orders
from hostwatch.enforcement.register import public_register
from hostwatch.enforcement.sanctions import decide, load_sanction_policy, propose, respond
from hostwatch.model.case import Case
from hostwatch.model.db import session_factory, session_scope
from hostwatch.model.party import Provider
from hostwatch.settings import Settings
from hostwatch.simulation.world import World
from hostwatch.takedown.contacts import ContactSpec, add_contact
from hostwatch.takedown.notify import deliver_pending
from hostwatch.takedown.policy import Policy
from hostwatch.takedown.send import Transport

ORDERED_PROVIDER = "BulkServers NL"
"""The slowest Dutch hoster of the simulated world (a 60-hour median after a notice)."""
ORDER_CONTACT = "orders@bulkservers.example"
"""The point of contact for removal orders it designated (TCO regulation, art. 15)."""
ORDER_DAYS = tuple(range(20, 350, 15))
"""Every fortnight or so: the regulator orders what the hoster left online for a day."""
DEADLINE_HOURS = (12, 11, 6, 12, 11, 1, 12, 7)
CASES_PER_ORDER = 6
ACTOR = "demo:regulator (simulated)"
BASIS = "Simulated removal order (Dutch law on online child sexual abuse material, art. 3)"


@dataclass
class RegulatorSummary:
    orders: list[str] = field(default_factory=list)
    outcomes: dict[str, int] = field(default_factory=dict)
    decision: str | None = None
    sanction: str | None = None
    files: list[Path] = field(default_factory=list)


class SimulatedRegulator:
    """Issues the year's orders as the replay passes their days; closes the year."""

    def __init__(
        self, settings: Settings, world: World, policy: Policy, transport: Transport
    ) -> None:
        self.settings = settings
        self.policy = policy
        self.transport = transport
        self.orders_policy: OrderPolicy = load_order_policy()
        self.due = [world.start + timedelta(days=d) for d in ORDER_DAYS]
        self.period = (world.start, world.end)
        self.summary = RegulatorSummary()

    def step(self, clock: Clock) -> bool:
        """Issue and send the orders due by ``clock``; True when one was delivered."""
        delivered = False
        while self.due and self.due[0] <= clock.now():
            self.due.pop(0)
            message = self._issue(clock.now())
            if message is not None:
                sent = deliver_pending(
                    session_factory(self.settings.database_url),
                    self.settings,
                    self.policy,
                    self.transport,
                    clock.now(),
                    only=[message],
                )
                delivered = delivered or sent.sent > 0
        return delivered

    def _issue(self, now: datetime) -> int | None:
        hours = DEADLINE_HOURS[len(self.summary.orders) % len(DEADLINE_HOURS)]
        with session_scope(self.settings.database_url) as session:
            provider_id = session.scalar(
                select(Provider.id).where(Provider.name == ORDERED_PROVIDER)
            )
            if provider_id is None:
                return None
            if not self.summary.orders:  # the hoster's designated point of contact for orders
                add_contact(
                    session,
                    ContactSpec(
                        name=f"{ORDERED_PROVIDER} order desk",
                        role="order",
                        for_provider=ORDERED_PROVIDER,
                        email=ORDER_CONTACT,
                        provenance="hostwatch demo (simulated)",
                    ),
                    now=now,
                    actor="demo",
                )
            candidates = session.scalars(
                select(Case)
                .where(
                    Case.provider_id == provider_id,
                    Case.state.in_(("notified", "reachable", "escalated")),
                    Case.first_message_at <= now - timedelta(hours=24),
                )
                .order_by(Case.opened_at, Case.id)
            ).all()
            chosen = [c.id for c in candidates if self._orderable(c.classification)]
            if not chosen:
                return None
            order = issue_order(
                session,
                provider_name=ORDERED_PROVIDER,
                case_ids=chosen[:CASES_PER_ORDER],
                deadline_hours=hours,
                basis=BASIS,
                policy=self.orders_policy,
                settings=self.settings,
                now=now,
                actor=ACTOR,
            )
            self.summary.orders.append(order.reference)
            return order.message_id

    def _orderable(self, classification: str | None) -> bool:
        try:
            return self.orders_policy.kind_of(classification).name == "csam"
        except OrderPolicyError:
            return False

    def close_year(self, now: datetime, out: Path) -> RegulatorSummary:
        """Judge the orders, propose and decide a sanction, publish it with the hoster's reply,
        and write orders.json, register.json and the hoster's dossier into ``out``."""
        with session_scope(self.settings.database_url) as session:
            views = view_orders(
                session, now=now, offline_after=self.settings.offline_after, period=self.period
            )
            for view in views:
                for case in view.cases:
                    self.summary.outcomes[case.outcome] = (
                        self.summary.outcomes.get(case.outcome, 0) + 1
                    )
            orders = [v.as_json() for v in views]
            if views:
                proposal = propose(
                    session,
                    provider_name=ORDERED_PROVIDER,
                    period=self.period,
                    period_label=f"{self.period[0]:%Y}",
                    policy=load_sanction_policy(),
                    now=now,
                    offline_after=self.settings.offline_after,
                    actor=ACTOR,
                )
                decision = decide(
                    session,
                    proposal.reference,
                    outcome=proposal.outcome or "none",
                    amount_eur=None,
                    text="Removal orders not complied with in time (simulated decision).",
                    publish=proposal.outcome != "none",
                    now=now + timedelta(hours=1),
                    actor=ACTOR,
                )
                provider_id = decision.provider_id
                respond(
                    session,
                    decision.reference,
                    text="We have terminated the reseller concerned and now act on orders "
                    "within the hour (simulated reply).",
                    provider_id=provider_id,
                    now=now + timedelta(hours=2),
                    actor="demo:provider (simulated)",
                )
                self.summary.decision = decision.reference
                self.summary.sanction = decision.outcome
            register = [e.as_json() for e in public_register(session)]
        self.summary.files = [
            _write(out / "orders.json", orders),
            _write(out / "register.json", register),
        ]
        return self.summary


def _write(path: Path, document: Any) -> Path:
    path.write_text(json.dumps(document, indent=2, default=str) + "\n", encoding="utf-8")
    return path
