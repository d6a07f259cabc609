"""Server-side portal sessions and shared rate-limit buckets.

The portal cookie carried the raw bearer token and outlived logout; it now carries a random
session id whose hash is stored here. Rate limits were per process, so ``serve --workers N``
multiplied them; their buckets are now rows every worker shares.

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import hostwatch.model.base

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "portal_sessions",
        sa.Column("id", _ID, nullable=False),
        sa.Column("session_hash", sa.String(length=64), nullable=False),
        sa.Column("token_id", _ID, nullable=False),
        sa.Column("created_at", hostwatch.model.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", hostwatch.model.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", hostwatch.model.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["token_id"], ["api_tokens.id"], name=op.f("fk_portal_sessions_token_id_api_tokens")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portal_sessions")),
        sa.UniqueConstraint("session_hash", name=op.f("uq_portal_sessions_session_hash")),
    )
    op.create_index(
        op.f("ix_portal_sessions_token_id"), "portal_sessions", ["token_id"], unique=False
    )
    op.create_table(
        "rate_buckets",
        sa.Column("limit_name", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("tokens", sa.Float(), nullable=False),
        sa.Column("stamp", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("limit_name", "key", name=op.f("pk_rate_buckets")),
    )


def downgrade() -> None:
    op.drop_table("rate_buckets")
    op.drop_index(op.f("ix_portal_sessions_token_id"), table_name="portal_sessions")
    op.drop_table("portal_sessions")
