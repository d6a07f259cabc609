"""Replay a simulated hotline year through the real workflow, with the clock as input.

Notices arrive at their simulated times and go through ``ingest``; each pass of the workflow
attributes, opens cases, sends messages (to the ``.eml`` outbox) and checks URLs against the
simulated web servers on loopback. The providers read their mail: a message that reaches a
party's abuse address starts that party's reaction, so removal times follow the messages the
workflow actually sent, re-notices and escalations included.

The same seed replays the same year. A party's reaction to a message is drawn from a generator
seeded by what it received (the notice, the recipient, the time sent), never from one shared
stream: the order in which the outbox is read (files named by random tickets) and the order in
which concurrent checks finish must not decide who removes what when.
"""

from __future__ import annotations

import email
import email.utils
import heapq
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

from hostwatch.clock import Clock
from hostwatch.settings import Settings
from hostwatch.simulation.feeds import PUBLIC_SOURCE, is_public_report, write_intelmq
from hostwatch.simulation.servers import HostingState
from hostwatch.simulation.world import (
    Party,
    SimNotice,
    World,
    order_delay,
    removal_delay,
    stable_key,
)

URL_IN_TEXT = re.compile(r"https?://[^\s\"'<>]+")
ORDER_PREFIX = "ORD-"
"""Removal orders carry their reference as the ticket (hostwatch.enforcement.orders)."""


def _read_message(data: bytes) -> tuple[datetime | None, list[str], str, bool]:
    """Date, recipients, plain-text body of a mail, and whether it is a removal order, as a
    provider's mail reader sees them.

    Parsed with the legacy (compat32) policy: the modern one builds a header object per header,
    which made reading the year's mail cost more than writing it.
    """
    message = email.message_from_bytes(data)
    date = message["Date"]
    sent_at = email.utils.parsedate_to_datetime(date) if date else None
    recipients = [address for _, address in email.utils.getaddresses(message.get_all("To", []))]
    order = str(message["X-Hostwatch-Ticket"] or "").startswith(ORDER_PREFIX)
    for part in message.walk():
        if part.get_content_type() == "text/plain" and part.get_content_disposition() is None:
            payload = part.get_payload(decode=True)
            text = payload.decode(part.get_content_charset() or "utf-8")
            return sent_at, recipients, text, order
    return sent_at, recipients, "", order


@dataclass(order=True)
class _Event:
    at: datetime
    seq: int
    action: Callable[[], None] = field(compare=False)


PassOutcome = tuple[bool, datetime | None]
"""What the replay needs of a pass: whether it delivered mail, and when the next thing is due."""


@dataclass
class ReplaySummary:
    passes: int = 0
    notices: int = 0
    messages_read: int = 0
    removals: int = 0
    reappearances: int = 0
    moves: int = 0
    requests: int = 0
    verdicts: dict[str, int] = field(default_factory=dict)
    """The simulated analyst's triage verdicts, by verdict."""


class Replay:
    """Drive world events, intake and workflow passes in time order."""

    def __init__(
        self,
        world: World,
        settings: Settings,
        clock: Clock,
        state: HostingState,
        *,
        seed: int,
        step: timedelta = timedelta(hours=1),
    ) -> None:
        self.world = world
        self.settings = settings
        self.clock = clock
        self.state = state
        self.step = step
        self.seed = seed
        self.events: list[_Event] = []
        self._seq = 0
        self.summary = ReplaySummary()
        self._by_url: dict[str, SimNotice] = {}
        self._acted: set[tuple[str, str]] = set()
        self._obeyed: set[tuple[str, str]] = set()  # (URL, recipient) of orders acted on
        self._read: set[str] = set()
        self._feed_dir = Path(settings.state_dir) / "simulated-feed"
        self._feed_dir.mkdir(parents=True, exist_ok=True)

    def schedule(self, at: datetime, action: Callable[[], None]) -> None:
        self._seq += 1
        heapq.heappush(self.events, _Event(at, self._seq, action))

    # -- the world --------------------------------------------------------------------------

    def _publish(self, notice: SimNotice) -> None:
        """The content goes up a little before the hotline hears of it."""
        self.state.point(notice.host, notice.party.server_ip)
        self.state.serve(notice.url)
        self._by_url.setdefault(notice.url, notice)

    def _take_down(self, url: str) -> None:
        if not self.state.is_online(url):
            return
        self.state.remove(url)
        self.summary.removals += 1
        notice = self._by_url[url]
        if notice.reappears_after is not None:
            notice_ref, notice.reappears_after = notice.reappears_after, None
            self.schedule(self.clock.now() + notice_ref, lambda: self._reappear(url))
        elif notice.moves_to is not None:
            target, notice.moves_to = notice.moves_to, None
            self.schedule(self.clock.now() + timedelta(hours=6), lambda: self._move(url, target))

    def _reappear(self, url: str) -> None:
        self.state.serve(url)
        self.summary.reappearances += 1
        self._acted = {(u, who) for (u, who) in self._acted if u != url}

    def _move(self, url: str, target: Party) -> None:
        notice = self._by_url[url]
        notice.party = target
        self.state.point(notice.host, target.server_ip)
        self.state.serve(url)
        self.summary.moves += 1
        self._acted = {(u, who) for (u, who) in self._acted if u != url}

    def _react(self, url: str, recipient: str, sent_at: datetime) -> None:
        """A party that received a message about ``url`` removes it after its own delay."""
        notice = self._by_url.get(url)
        if notice is None or (url, recipient) in self._acted or not self.state.is_online(url):
            return
        party = notice.party
        holder = self.world.party(party.parent) if party.parent else None
        if recipient == party.abuse:
            rng = np.random.default_rng(
                [
                    self.seed,
                    stable_key(notice.reference),
                    stable_key(recipient),
                    int(sent_at.timestamp()),
                ]
            )
            hours = removal_delay(party, sent_at, self.world, rng)
        elif holder is not None and recipient == holder.abuse:
            hours = (
                holder.behaviour.acts_for_reseller_hours
                or holder.behaviour.acts_on_escalation_hours
            )
        else:  # registrar, authority or police: the bulletproof host moves only for them
            hours = party.behaviour.acts_on_escalation_hours
        if hours is None:
            return
        self._acted.add((url, recipient))
        self.schedule(sent_at + timedelta(hours=hours), lambda: self._take_down(url))

    def _obey(self, url: str, recipient: str, sent_at: datetime) -> None:
        """The provider that received a removal order removes the URL after its order delay."""
        party = next(
            (p for p in self.world.parties if recipient in (p.abuse, f"orders@{p.domain}")), None
        )
        if party is None or (url, recipient) in self._obeyed or not self.state.is_online(url):
            return
        notice = self._by_url.get(url)
        if notice is None:
            return
        # seeded by the notice's reference, not its URL: the URL carries the servers' port
        rng = np.random.default_rng(
            [
                self.seed,
                stable_key(notice.reference),
                stable_key(recipient),
                int(sent_at.timestamp()),
                1,
            ]
        )
        hours = order_delay(party, rng)
        if hours is None:
            return
        self._obeyed.add((url, recipient))
        self.schedule(sent_at + timedelta(hours=hours), lambda: self._take_down(url))

    def read_mail(self) -> None:
        """The providers read the mail that arrived since they last looked, and react."""
        outbox = Path(self.settings.outbox_dir)
        if not outbox.exists():
            return
        # a set difference, not a test per file: the outbox holds the whole year's mail
        new = {name for name in os.listdir(outbox) if name.endswith(".eml")} - self._read
        # Each (URL, recipient) reacts once, to the earliest message about it, and in a fixed
        # order: the file names are random tickets, so reading order must decide nothing.
        received: dict[tuple[str, str], datetime] = {}
        ordered: dict[tuple[str, str], datetime] = {}
        for name in new:
            self._read.add(name)
            sent_at, recipients, text, order = _read_message((outbox / name).read_bytes())
            sent_at = sent_at or self.clock.now()
            self.summary.messages_read += 1
            into = ordered if order else received
            for url in URL_IN_TEXT.findall(text):
                for recipient in recipients:
                    key = (url.rstrip(".,;)"), recipient)
                    into[key] = min(sent_at, into.get(key, sent_at))
        for (url, recipient), sent_at in sorted(received.items()):
            self._react(url, recipient, sent_at)
        for (url, recipient), sent_at in sorted(ordered.items()):
            self._obey(url, recipient, sent_at)

    # -- the loop -----------------------------------------------------------------------------
    # ``run_pass`` makes one workflow pass and says whether it delivered any message, so the
    # providers read their mail only when there is new mail, and when the workflow next has
    # something due. Its second argument says whether the pass can find anything new to
    # attribute: only notices bring that here, so only the first pass and the passes at arrivals
    # need to look.

    def run(
        self,
        run_pass: Callable[[Clock, bool], PassOutcome],
        ingest: Callable[[Path, str | None], object],
        progress: Callable[[float], None] | None = None,
    ) -> ReplaySummary:
        notices = self.world.notices
        i = 0
        total = (self.world.end - self.world.start).total_seconds()
        for notice in notices:
            self.schedule(
                notice.received_at - timedelta(minutes=30), lambda n=notice: self._publish(n)
            )
        due: datetime | None = None
        while True:
            now = self.clock.now()
            candidates = [self.world.end]
            if i < len(notices):
                candidates.append(notices[i].received_at)
            if self.events:
                candidates.append(self.events[0].at)
            if due is not None:
                candidates.append(max(due, now))
            upcoming = min(candidates)
            # Passes happen on a grid (the hourly cron of a real deployment), never backwards.
            grid = self.world.start + self.step * -(-(upcoming - self.world.start) // self.step)
            at = max(grid, now + (self.step if self.summary.passes else timedelta(0)))
            if at >= self.world.end:
                break
            self.clock.set(at)
            while self.events and self.events[0].at <= at:
                heapq.heappop(self.events).action()
            arrived = []
            while i < len(notices) and notices[i].received_at <= at:
                arrived.append(notices[i])
                i += 1
            if arrived:
                # the hotline's own case tool (assessed), and its public web form (unassessed)
                hotline = [n for n in arrived if not is_public_report(n)]
                public = [n for n in arrived if is_public_report(n)]
                if hotline:
                    ingest(write_intelmq(hotline, self._feed_dir / f"{at:%Y%m%dT%H%M}.jsonl"), None)
                if public:
                    path = self._feed_dir / f"{at:%Y%m%dT%H%M}-public.jsonl"
                    ingest(write_intelmq(public, path, PUBLIC_SOURCE), PUBLIC_SOURCE)
                self.summary.notices += len(arrived)
            delivered, due = run_pass(self.clock, bool(arrived) or not self.summary.passes)
            self.summary.passes += 1
            if delivered:
                self.read_mail()
            if progress is not None:
                progress((at - self.world.start).total_seconds() / total)
        return self.summary
