"""The audit log as a Merkle tree (RFC 9162) with signed heads, instead of a hash chain.

Each event gets its leaf index ``seq`` (unique: a fork cannot be stored) and its leaf hash in
``hash``; ``prev_hash`` goes, the tree replaces the chain. ``audit_tree`` is the one row that
appends lock and that holds the tree's size, root and right edge; ``audit_heads`` keeps every
signed head handed out. Existing events become leaves in id order, their hashes recomputed.

Revision ID: 0011
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from hostwatch.model.audit import event_bytes
from hostwatch.model.base import JsonType, UTCDateTime
from hostwatch.model.merkle import CompactTree, leaf_hash

revision = "0011"
down_revision = "0009"
branch_labels = None
depends_on = None

_IdType = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_BATCH = 10_000


def upgrade() -> None:
    op.create_table(
        "audit_tree",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tree_size", sa.BigInteger(), nullable=False),
        sa.Column("root_hash", sa.String(length=64), nullable=False),
        sa.Column("peaks", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_tree")),
    )
    op.create_table(
        "audit_heads",
        sa.Column("id", _IdType, nullable=False),
        sa.Column("tree_size", sa.BigInteger(), nullable=False),
        sa.Column("root_hash", sa.String(length=64), nullable=False),
        sa.Column("timestamp", UTCDateTime(timezone=True), nullable=False),
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("signature", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_heads")),
    )
    with op.batch_alter_table("audit_heads") as batch:
        batch.create_index(batch.f("ix_audit_heads_tree_size"), ["tree_size"], unique=False)
    with op.batch_alter_table("audit_events") as batch:
        batch.add_column(sa.Column("seq", sa.BigInteger(), nullable=True))

    tree = _leaves_for_existing_events()
    op.get_bind().execute(
        sa.text(
            "INSERT INTO audit_tree (id, tree_size, root_hash, peaks) VALUES (1, :n, :root, :peaks)"
        ),
        {"n": tree.size, "root": tree.root().hex(), "peaks": "".join(p.hex() for p in tree.peaks)},
    )
    with op.batch_alter_table("audit_events") as batch:
        batch.alter_column("seq", existing_type=sa.BigInteger(), nullable=False)
        batch.create_unique_constraint(batch.f("uq_audit_events_seq"), ["seq"])
        batch.drop_column("prev_hash")


def _leaves_for_existing_events() -> CompactTree:
    """Number the events in id order and give each its leaf hash; the tree they make."""
    events = sa.table(
        "audit_events",
        sa.column("id", _IdType),
        sa.column("seq", sa.BigInteger()),
        sa.column("at", UTCDateTime(timezone=True)),
        sa.column("actor", sa.String()),
        sa.column("action", sa.String()),
        sa.column("object_type", sa.String()),
        sa.column("object_id", sa.String()),
        sa.column("reason", sa.Text()),
        sa.column("data", JsonType),
        sa.column("hash", sa.String()),
    )
    bind = op.get_bind()
    fields = [
        events.c.at,
        events.c.actor,
        events.c.action,
        events.c.object_type,
        events.c.object_id,
        events.c.reason,
        events.c.data,
    ]
    tree = CompactTree()
    update = (
        sa.update(events)
        .where(events.c.id == sa.bindparam("event_id"))
        .values(seq=sa.bindparam("new_seq"), hash=sa.bindparam("new_hash"))
    )
    last = None
    while True:  # in id order, a batch at a time: a large log never sits in memory
        query = sa.select(events.c.id, *fields).order_by(events.c.id).limit(_BATCH)
        if last is not None:
            query = query.where(events.c.id > last)
        rows = bind.execute(query).all()
        if not rows:
            return tree
        pending = []
        for event_id, *values in rows:
            leaf = leaf_hash(event_bytes(*values))
            pending.append({"event_id": event_id, "new_seq": tree.size, "new_hash": leaf.hex()})
            tree.append(leaf)
        bind.execute(update, pending)
        last = rows[-1][0]


def downgrade() -> None:
    with op.batch_alter_table("audit_events") as batch:
        batch.add_column(sa.Column("prev_hash", sa.String(length=64), nullable=True))
        batch.drop_constraint(batch.f("uq_audit_events_seq"), type_="unique")
        batch.drop_column("seq")
    # The chain hashes are not recomputed: a downgraded log must be re-chained before it is
    # trusted again (``prev_hash`` is left empty rather than claiming a chain it never had).
    op.get_bind().execute(sa.text("UPDATE audit_events SET prev_hash = ''"))
    with op.batch_alter_table("audit_events") as batch:
        batch.alter_column("prev_hash", existing_type=sa.String(length=64), nullable=False)
    op.drop_table("audit_heads")
    op.drop_table("audit_tree")
