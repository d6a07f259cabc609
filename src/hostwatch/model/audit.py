"""The append-only audit log: a Merkle tree over the events, as a Certificate Transparency log.

Every event is leaf ``seq`` of one RFC 9162 tree (``merkle``); ``hash`` is its leaf hash over the
event's canonical bytes. One row of ``audit_tree`` holds the tree's size, root and right edge: an
append locks that row (``SELECT ... FOR UPDATE`` on PostgreSQL; on SQLite a write to it, which takes
the database's write lock before the tail is read), so two transactions can never chain onto the
same tail, and the lock is held until commit. ``seq`` is unique in the schema: a fork could not even
be stored. Signed heads (``audit_heads``) and the checks against them live in ``audit_heads`` and
``audit_verify``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, NamedTuple

from sqlalchemy import BigInteger, Index, Integer, String, Text, select, text
from sqlalchemy.orm import Mapped, Session, mapped_column

from hostwatch.model.base import Base, IdType, JsonType, UTCDateTime
from hostwatch.model.merkle import CompactTree, leaf_hash

TREE_ROW = 1


class AuditEvent(Base):
    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, unique=True)
    """The event's leaf index in the tree: 0, 1, 2, ... without gaps."""
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    hash: Mapped[str] = mapped_column(String(64))
    """Hex leaf hash: SHA-256(0x00 || canonical bytes of the event)."""

    __table_args__ = (Index(None, "object_type", "object_id"), Index(None, "at"))


class AuditTree(Base):
    """The one row that says how far the log goes: the append lock and the tree's right edge."""

    __tablename__ = "audit_tree"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tree_size: Mapped[int] = mapped_column(BigInteger)
    root_hash: Mapped[str] = mapped_column(String(64))
    peaks: Mapped[str] = mapped_column(Text)
    """Hex roots of the perfect subtrees, largest first, concatenated (``CompactTree.peaks``)."""

    def compact(self) -> CompactTree:
        return CompactTree(self.tree_size, unpack_peaks(self.peaks))

    def store(self, tree: CompactTree) -> None:
        self.tree_size = tree.size
        self.root_hash = tree.root().hex()
        self.peaks = "".join(p.hex() for p in tree.peaks)


def unpack_peaks(packed: str) -> list[bytes]:
    return [bytes.fromhex(packed[i : i + 64]) for i in range(0, len(packed), 64)]


def event_bytes(
    at: datetime,
    actor: str,
    action: str,
    object_type: str,
    object_id: str,
    reason: str | None,
    data: dict[str, Any] | None,
) -> bytes:
    """The canonical bytes of an event: every field a reader relies on, one fixed encoding.

    JSON with sorted keys and ASCII escapes, the instant in UTC: the same event gives the same
    bytes whether it comes back from SQLite or PostgreSQL (JSONB reorders keys).
    """
    return _CANONICAL.encode(
        [at.astimezone(UTC).isoformat(), actor, action, object_type, object_id, reason, data]
    ).encode()


_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=True)
"""Built once: a verify encodes a million events, and building an encoder per call cost a third."""


def event_leaf(event: AuditEvent) -> bytes:
    return leaf_hash(
        event_bytes(
            event.at,
            event.actor,
            event.action,
            event.object_type,
            event.object_id,
            event.reason,
            event.data,
        )
    )


def record(
    session: Session,
    *,
    at: datetime,
    actor: str,
    action: str,
    object_type: str,
    object_id: object,
    reason: str | None = None,
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event to the log inside the caller's transaction.

    The first event of a transaction (or savepoint) takes the append lock and reads the tree
    row; later events of the same transaction extend the row in memory (a delivery or a check
    writes several), and the unit of work writes it back with them.
    """
    tree_row, tree = _locked_tree(session)
    # A JSON round trip gives ``data`` the form it will be read back in (tuples become lists).
    stored = json.loads(json.dumps(data)) if data is not None else None
    event = AuditEvent(
        seq=tree.size,
        at=at,
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        reason=reason,
        data=stored,
    )
    leaf = event_leaf(event)
    event.hash = leaf.hex()
    tree.append(leaf)
    tree_row.store(tree)
    session.add(event)
    return event


_LOCKED = "hostwatch.audit.locked"
"""Session.info key: (the transaction that holds the append lock, the tree row it read, the
row's tree)."""


def _locked_tree(session: Session) -> tuple[AuditTree, CompactTree]:
    """The tree row, read under the append lock once per transaction or savepoint, and its
    right edge (parsed once: later appends of the transaction extend it in memory).

    A savepoint that rolls back releases what it locked and expires the row, so the enclosing
    transaction locks and reads again.
    """
    transaction = session.get_nested_transaction() or session.get_transaction()
    held = session.info.get(_LOCKED)
    if held is not None and held[0] is transaction:
        return held[1], held[2]
    session.flush()  # the row in memory may be ahead of the database (a savepoint released)
    query = select(AuditTree).where(AuditTree.id == TREE_ROW)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    else:  # SQLite: a write takes the database's write lock before the tree row is read
        session.execute(
            text("UPDATE audit_tree SET tree_size = tree_size WHERE id = :id"), {"id": TREE_ROW}
        )
    row = session.scalars(query.execution_options(populate_existing=True)).one()
    transaction = session.get_nested_transaction() or session.get_transaction()
    held = (transaction, row, row.compact())
    session.info[_LOCKED] = held
    return held[1], held[2]


def tree_state(session: Session) -> AuditTree:
    """The tree row as committed (size and root), without taking the append lock."""
    return session.scalars(
        select(AuditTree).where(AuditTree.id == TREE_ROW).execution_options(populate_existing=True)
    ).one()


class StoredLeaf(NamedTuple):
    """A tuple, not a frozen dataclass: a million of them are built in one verify."""

    seq: int
    event_id: int
    stored_hash: str
    leaf: bytes
    """The leaf hash recomputed from the event's content (``stored_hash`` may have been forged)."""


_LEAF_COLUMNS = select(
    AuditEvent.seq,
    AuditEvent.id,
    AuditEvent.hash,
    AuditEvent.at,
    AuditEvent.actor,
    AuditEvent.action,
    AuditEvent.object_type,
    AuditEvent.object_id,
    AuditEvent.reason,
    AuditEvent.data,
).order_by(AuditEvent.seq)


def leaves(session: Session, below: int, batch: int = 20_000) -> Iterator[StoredLeaf]:
    """The events with a leaf index below ``below``, in leaf order, with their recomputed leaf
    hashes, streamed (O(batch) memory).

    ``below`` is the size of a tree row read before: appends committed since have larger
    indices, so a check while the service writes sees one consistent tree, not a torn one.
    Core rows, not ORM ones: ORM loading took 40% of a full verify.
    """
    query = _LEAF_COLUMNS.where(AuditEvent.seq < below)
    # Options on the statement: on the connection they would stay for its later statements.
    rows = session.connection().execute(query.execution_options(yield_per=batch))
    for seq, event_id, stored, *fields in rows:
        yield StoredLeaf(seq, event_id, stored, leaf_hash(event_bytes(*fields)))
