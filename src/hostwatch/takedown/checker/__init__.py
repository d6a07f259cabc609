"""Content-free liveness checks: is a reported URL still served, without ever fetching it.

Entry points: ``open_checker`` (a Checker from settings, used as ``async with``),
``Checker.check`` for one URL, ``CheckRunner.stream`` for many, ``run_checks`` for blocking
callers, ``CheckSession`` for blocking callers that make pass after pass. Results are
``CheckResult`` records with an ``Outcome``.
"""

from hostwatch.takedown.checker.client import Checker, CheckOptions, Timeouts
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
    "AddressPolicy",
    "BlockedAddress",
    "CheckOptions",
    "CheckRequest",
    "CheckResult",
    "CheckRunner",
    "CheckSession",
    "Checker",
    "Hop",
    "Outcome",
    "Politeness",
    "Timeouts",
    "Timing",
    "open_checker",
    "run_checks",
]
