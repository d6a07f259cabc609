"""The case state machine: explicit states, the transitions allowed between them, and their audit.

A case's state is a projection of its records (messages, checks, attributions); the audit log
keeps every change with the time and the reason, so the history can be replayed and no state is
reached by a path nobody wrote down.

- new: opened from an attribution, no message sent yet
- notified: a message went out, no check since
- reachable: the last check got an answer (which is not "content present")
- offline-pending: failed checks, not yet enough of them to call it offline
- removed: offline confirmed by ``offline_after`` failed checks spread over time
- reappeared: online again after removal; the hoster is notified again
- escalated: a message went up the escalation ladder and the URL is still online
- moved: the hoster changed; held for an analyst
- closed: done (removed and watched long enough, or closed by an analyst)
- unconfirmed: conclusive checks failed, but no check ever saw the URL online: it cannot have
  been taken down by anyone we measured, so it is never "removed"; it leaves this state only
  when a check sees it online (then "reachable", and the normal course)
- not-checkable: the address policy forbids checking the URL (private, reserved, an invalid
  URL); never "reachable" nor "still online"; a later check that may be made moves it on

Only failures that count (``checker.fault``: the target's doing, under passing control probes)
move a case towards "removed" or "unconfirmed"; an inconclusive check moves no case, except a
policy block, which makes it "not-checkable". Neither "unconfirmed" nor "not-checkable" is a
message state: no re-notice or escalation claims such a URL is online.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from hostwatch.model.audit import record
from hostwatch.model.case import CASE_STATES, Case

_ONLINE = ("reachable", "escalated")
_WATCHED = ("notified", "reachable", "offline-pending", "escalated", "reappeared")
_UNSEEN = ("unconfirmed", "not-checkable")
ALLOWED: dict[str, frozenset[str]] = {
    "new": frozenset(
        {"notified", "reachable", "offline-pending", "removed", "moved", "closed", *_UNSEEN}
    ),
    "notified": frozenset({*_ONLINE, "offline-pending", "removed", "moved", "closed", *_UNSEEN}),
    "reachable": frozenset(
        {"offline-pending", "escalated", "removed", "moved", "closed", "not-checkable"}
    ),
    "offline-pending": frozenset({*_ONLINE, "removed", "moved", "closed", *_UNSEEN}),
    "removed": frozenset({"reappeared", "moved", "closed"}),
    "reappeared": frozenset(
        {"notified", "offline-pending", "removed", "escalated", "moved", "closed", "not-checkable"}
    ),
    # escalation follows the clock, not sightings: an escalated URL may never have been seen
    "escalated": frozenset({"offline-pending", "removed", "moved", "closed", *_UNSEEN}),
    "moved": frozenset({"new", *_WATCHED, "removed", "closed", *_UNSEEN}),
    "closed": frozenset({"reappeared"}),
    "unconfirmed": frozenset({*_ONLINE, "not-checkable", "moved", "closed"}),
    "not-checkable": frozenset(
        {*_ONLINE, "offline-pending", "removed", "unconfirmed", "moved", "closed"}
    ),
}
OPEN_STATES = tuple(s for s in CASE_STATES if s != "closed")
ACTIVE_STATES = tuple(s for s in OPEN_STATES if s not in ("removed", "moved"))


class IllegalTransition(ValueError):
    """A state change the machine does not allow; the message names the case and both states."""


def transition(
    session: Session,
    case: Case,
    to: str,
    *,
    at: datetime,
    reason: str,
    actor: str = "workflow",
    data: dict[str, object] | None = None,
) -> bool:
    """Move ``case`` to state ``to`` and write the audit event; False when it is already there."""
    if to == case.state:
        return False
    if to not in ALLOWED.get(case.state, frozenset()):
        raise IllegalTransition(f"case {case.id}: {case.state} -> {to} is not allowed ({reason})")
    record(
        session,
        at=at,
        actor=actor,
        action=f"case.{to}",
        object_type="case",
        object_id=case.id,
        reason=reason,
        data={"from": case.state, "to": to, **(data or {})},
    )
    case.state = to
    case.state_since = at
    return True
