"""Checking the audit log: against itself, against every stored signed head, against a head given.

Every check recomputes each leaf from the event's content (a stored hash may be forged along
with the event) in one streamed pass: O(log n) memory for the whole log, O(n) hashes (never the
events) when a consistency or inclusion proof must be built. Each problem names the first leaf
index where the log goes wrong, so the reader knows which events to distrust.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from hostwatch.model.audit import AuditEvent, event_leaf, leaves, tree_state
from hostwatch.model.audit_heads import HeadKey, SignedHead, stored_heads
from hostwatch.model.merkle import (
    EMPTY_ROOT,
    CompactTree,
    consistency_proof,
    inclusion_proof,
    root_of,
    verify_consistency,
    verify_inclusion,
)


@dataclass(frozen=True)
class Problem:
    index: int
    """The first leaf index the problem makes untrustworthy."""
    message: str
    event_id: int | None = None

    def __str__(self) -> str:
        event = f" (event {self.event_id})" if self.event_id is not None else ""
        return f"index {self.index}{event}: {self.message}"


@dataclass
class LogCheck:
    tree_size: int = 0
    root_hash: str = EMPTY_ROOT.hex()
    last_event_id: int | None = None
    last_hash: str | None = None
    heads_checked: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.problems

    @property
    def first_problem(self) -> Problem | None:
        return min(self.problems, key=lambda p: p.index, default=None)


def verify_log(
    session: Session,
    key: HeadKey | None,
    head: SignedHead | None = None,
) -> LogCheck:
    """Recompute every leaf and the root; check the tree row, every stored head and ``head``.

    With ``head`` (a head handed out earlier), the log must extend it: its signature verifies
    with ``key``, and a consistency proof from its size to the current tree checks out.
    """
    check = LogCheck()
    # Heads, then the tree row, then the leaves below the row's size: while the service appends,
    # every head read is within that row, and every leaf below it was committed with it.
    heads = stored_heads(session)
    row = tree_state(session)
    sizes = {h.tree_size for h in heads} | {row.tree_size} | ({head.tree_size} if head else set())
    roots: dict[int, str] = {}
    tree = CompactTree()
    kept: list[bytes] = []  # leaf hashes, only when a consistency proof is to be built
    forged = gap = False  # one problem per kind: the first place is what the reader needs
    for leaf in leaves(session, row.tree_size):
        if tree.size in sizes:
            roots[tree.size] = tree.root().hex()
        if leaf.seq != tree.size and not gap:
            gap = True
            check.problems.append(
                Problem(tree.size, f"the log jumps from index {tree.size} to {leaf.seq}")
            )
        if leaf.stored_hash != leaf.leaf.hex() and not forged:
            forged = True
            check.problems.append(
                Problem(leaf.seq, "hash does not match the event's content", leaf.event_id)
            )
        tree.append(leaf.leaf)
        if head is not None:
            kept.append(leaf.leaf)
        check.last_event_id, check.last_hash = leaf.event_id, leaf.stored_hash
    roots[tree.size] = tree.root().hex()
    check.tree_size, check.root_hash = tree.size, roots[tree.size]

    exact = min((p.index for p in check.problems), default=None)  # a changed or missing event
    matched = [0]  # sizes some signed head vouches for and the log still matches
    for stored in heads:
        check.heads_checked += 1
        why = _against(stored, roots, tree.size, key, matched, exact)
        if why is None:
            matched.append(stored.tree_size)
        else:
            check.problems.append(Problem(why[0], f"stored head {_name(stored)}: {why[1]}"))
    if row.tree_size != tree.size:
        check.problems.append(
            Problem(
                min(row.tree_size, tree.size),
                f"the tree row says {row.tree_size} events, the log holds {tree.size}",
            )
        )
    elif row.root_hash != check.root_hash and not forged:
        good = max(s for s in matched if s <= tree.size)
        check.problems.append(
            Problem(
                good,
                "the tree row's root does not match the events: an event at an index from "
                f"{good} on was changed",
            )
        )
    if head is not None:
        why = _against(head, roots, tree.size, key, matched, exact)
        if (
            why is None
            and head.tree_size
            and not verify_consistency(
                head.tree_size,
                tree.size,
                bytes.fromhex(head.root_hash),
                bytes.fromhex(check.root_hash),
                consistency_proof(kept, head.tree_size),
            )
        ):
            why = (0, "the consistency proof from the head to the log does not verify")
        if why is not None:
            check.problems.append(Problem(why[0], f"head {_name(head)}: {why[1]}"))
    return check


def _name(head: SignedHead) -> str:
    return f"of {head.tree_size} events at {head.timestamp}"


def _against(
    head: SignedHead,
    roots: dict[int, str],
    size: int,
    key: HeadKey | None,
    matched: list[int],
    exact: int | None,
) -> tuple[int, str] | None:
    """(first bad index, why) when the log does not extend ``head``; None when it does.

    A changed event whose stored hash was recomputed too can only be placed between the largest
    smaller head the log still matches and this head's size: the head holds only the root.
    """
    if key is not None and (why := key.problem_with(head)) is not None:
        return 0, why
    if head.tree_size > size:
        return size, f"the log was truncated to {size} events (first missing index {size})"
    if roots[head.tree_size] != head.root_hash:
        if exact is not None and exact < head.tree_size:
            return exact, f"the first {head.tree_size} events no longer give the signed root"
        good = max(s for s in matched if s <= head.tree_size)
        return good, (
            f"the first {head.tree_size} events no longer give the signed root: an event at an "
            f"index from {good} to {head.tree_size - 1} was changed, removed or inserted"
        )
    return None


def inclusion(session: Session, event_id: int) -> dict[str, Any]:
    """An RFC 9162 inclusion proof of one event in the current tree, checked before it is given.

    LookupError when there is no such event; ValueError when the stored log does not give the
    root of its own tree row (``audit verify`` says where).
    """
    event = session.get(AuditEvent, event_id)
    if event is None:
        raise LookupError(f"no audit event {event_id}")
    row = tree_state(session)
    hashes: Sequence[bytes] = [leaf.leaf for leaf in leaves(session, row.tree_size)]
    root = root_of(hashes)
    leaf = event_leaf(event)
    if (
        row.tree_size != len(hashes)
        or row.root_hash != root.hex()
        or event.seq >= len(hashes)
        or hashes[event.seq] != leaf
    ):
        raise ValueError("the stored log does not match its tree head; run `audit verify`")
    proof = inclusion_proof(hashes, event.seq)
    if not verify_inclusion(event.seq, len(hashes), leaf, proof, root):
        raise ValueError(f"the inclusion proof of event {event_id} does not verify")
    return {
        "event_id": event.id,
        "leaf_index": event.seq,
        "tree_size": len(hashes),
        "leaf_hash": leaf.hex(),
        "root_hash": root.hex(),
        "proof": [p.hex() for p in proof],
    }
