"""The embedded scheduler: passes of the workflow in this process, once or forever.

On the SQLite default there is no job queue: ``hostwatch run`` simply makes a pass, sleeps until
the next thing is due (at most ``max_sleep`` seconds, so new notices are picked up), and repeats.
With a pinned clock (``--now``) a single pass is the useful form, and ``run --once`` is it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

from hostwatch.clock import Clock
from hostwatch.model.db import migrate
from hostwatch.settings import Settings
from hostwatch.takedown.checker import CheckSession
from hostwatch.takedown.policy import load_policy
from hostwatch.takedown.send import Transport
from hostwatch.takedown.workflow import PassReport, run_pass

log = logging.getLogger(__name__)


def run_once(settings: Settings, clock: Clock, *, policy_path: Path | None = None) -> PassReport:
    """Bring the database up to date and make one pass at ``clock.now()``."""
    migrate(settings.database_url)
    return run_pass(settings, clock, policy=load_policy(settings, policy_path))


def run_forever(
    settings: Settings,
    clock: Clock,
    *,
    policy_path: Path | None = None,
    max_sleep: float = 60.0,
    on_pass: Callable[[PassReport], None] | None = None,
    should_stop: Callable[[], bool] = lambda: False,
) -> None:
    """Pass after pass until ``should_stop`` says so (the CLI stops on Ctrl-C)."""
    migrate(settings.database_url)
    policy = load_policy(settings, policy_path)
    transport = Transport(settings)
    with CheckSession(settings) as checks:  # one checker for all passes, not one per pass
        while not should_stop():
            report = run_pass(settings, clock, policy=policy, transport=transport, checks=checks)
            if on_pass is not None:
                on_pass(report)
            due = report.next_due
            wait = max_sleep
            if due is not None:
                wait = min(max_sleep, max(1.0, (due - clock.now()).total_seconds()))
            log.info("next pass in %.0f s", wait)
            time.sleep(wait)
