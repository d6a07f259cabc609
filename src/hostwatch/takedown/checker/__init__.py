"""Content-free liveness checks: is a reported URL still served, without ever fetching it.

Entry points: ``open_checker`` (a Checker from settings, used as ``async with``),
``Checker.check`` for one URL, ``CheckRunner.stream`` for many, ``run_checks`` for blocking
callers, ``CheckSession`` for blocking callers that make pass after pass. Results are
``CheckResult`` records with an ``Outcome``, a failure kind and, when the check is evidence of
nothing about the target, an inconclusive reason (``fault``, ``controls``); ``health`` records
the checker's own health per batch and gives its outage windows.
"""

from hostwatch.takedown.checker.client import Checker, CheckOptions, Timeouts
from hostwatch.takedown.checker.controls import ControlReport, Controls
from hostwatch.takedown.checker.fault import FAILURES, Side
from hostwatch.takedown.checker.health import (
    BatchHealth,
    OutageWindow,
    health_observation,
    outage_windows,
)
from hostwatch.takedown.checker.policy import AddressPolicy, BlockedAddress
from hostwatch.takedown.checker.politeness import Politeness
from hostwatch.takedown.checker.result import CheckResult, Hop, Outcome, Timing
from hostwatch.takedown.checker.runner import (
    CheckRequest,
    CheckRunner,
    CheckSession,
    open_checker,
    run_checks,
)

__all__ = [
    "FAILURES",
    "AddressPolicy",
    "BatchHealth",
    "BlockedAddress",
    "CheckOptions",
    "CheckRequest",
    "CheckResult",
    "CheckRunner",
    "CheckSession",
    "Checker",
    "ControlReport",
    "Controls",
    "Hop",
    "OutageWindow",
    "Outcome",
    "Politeness",
    "Side",
    "Timeouts",
    "Timing",
    "health_observation",
    "open_checker",
    "outage_windows",
    "run_checks",
]
