"""The simulated providers react to what they received, whatever order they read it in."""

from __future__ import annotations

import email.utils
from datetime import datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

from hostwatch.clock import Clock
from hostwatch.simulation.demo import DemoSettings
from hostwatch.simulation.replay import Replay
from hostwatch.simulation.servers import HostingState
from hostwatch.simulation.world import build_world


def _mail(to: str, sent_at: datetime, urls: list[str]) -> bytes:
    message = EmailMessage()
    message["To"] = to
    message["Date"] = email.utils.format_datetime(sent_at)
    message["Subject"] = "notice"
    message.set_content("Please remove:\n" + "\n".join(urls) + "\n")
    return message.as_bytes()


def _year_after_reading(folder: Path, reverse_names: bool) -> list[tuple[datetime, str, bool]]:
    """Every change to what is online after the providers read the same mail, under other
    file names (the outbox names files by random tickets)."""
    world = build_world(2025, 60, seed=3, port=18080)
    settings = DemoSettings(outbox_dir=folder / "outbox", state_dir=folder / "state")
    state = HostingState()
    replay = Replay(world, settings, Clock.at(world.start), state, seed=5)
    for notice in world.notices:
        replay._publish(notice)
    mails = []
    for day, party in enumerate(world.parties):
        urls = [n.url for n in world.notices if n.party is party]
        sent = world.start + timedelta(days=1 + day % 3)
        mails.append(_mail(party.abuse, sent, urls))
        mails.append(_mail(party.abuse, sent + timedelta(days=1), urls[::-1]))  # a re-notice
    settings.outbox_dir.mkdir()
    for i, data in enumerate(mails):
        number = len(mails) - i if reverse_names else i
        (settings.outbox_dir / f"HW-{number:03d}.eml").write_bytes(data)
    replay.read_mail()
    changes = []
    online = set(state.online)
    while replay.events:
        event = min(replay.events)
        replay.events.remove(event)
        replay.clock.set(max(event.at, replay.clock.now()))
        event.action()
        now_online = set(state.online)
        changes += [(event.at, url, False) for url in sorted(online - now_online)]
        changes += [(event.at, url, True) for url in sorted(now_online - online)]
        online = now_online
    return changes


def test_reactions_do_not_depend_on_the_order_mail_is_read(tmp_path: Path) -> None:
    forward = _year_after_reading(tmp_path / "a", reverse_names=False)
    backward = _year_after_reading(tmp_path / "b", reverse_names=True)
    assert len([change for change in forward if not change[2]]) >= 20
    assert forward == backward
