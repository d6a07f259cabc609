"""The case state machine stays whole with the states for URLs never seen online or unchecked."""

from __future__ import annotations

from hostwatch.model.case import CASE_STATES
from hostwatch.takedown.notify import MESSAGE_STATES
from hostwatch.takedown.states import ALLOWED
from hostwatch.takedown.verdicts import CHECK_STATES


def test_every_state_has_its_transitions_and_every_target_is_a_state() -> None:
    assert set(ALLOWED) == set(CASE_STATES)
    for state, targets in ALLOWED.items():
        assert targets <= set(CASE_STATES), state
        assert state not in targets, state


def test_unseen_states_are_checked_but_never_messaged_as_online() -> None:
    for state in ("unconfirmed", "not-checkable"):
        assert state in CHECK_STATES
        assert state not in MESSAGE_STATES
        # out only by a sighting, a hoster change or closing; never straight to "removed"
        assert "removed" not in ALLOWED["unconfirmed"]
        assert {"reachable", "escalated"} <= ALLOWED[state]


def test_no_state_reached_from_a_sighting_can_become_unconfirmed() -> None:
    """Reachable and reappeared mean a check saw the URL online: never "unconfirmed" again."""
    for state in ("reachable", "reappeared", "removed", "closed"):
        assert "unconfirmed" not in ALLOWED[state]
