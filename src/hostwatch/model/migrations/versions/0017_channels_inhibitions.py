"""Channels per contact (e-mail, webhook, feed) and do-not-notify rules (inhibitions).

Revision ID: 0017
Revises: 0016
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import hostwatch.model.base

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("contacts") as batch:
        batch.add_column(
            sa.Column("channel", sa.String(length=16), nullable=False, server_default="email")
        )
        batch.add_column(sa.Column("webhook_url", sa.String(length=320), nullable=True))
        batch.add_column(sa.Column("webhook_secret", sa.String(length=200), nullable=True))
    op.create_table(
        "inhibitions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("value", sa.String(length=300), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", hostwatch.model.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("expires_at", hostwatch.model.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("removed_at", hostwatch.model.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("removed_by", sa.String(length=100), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inhibitions")),
    )
    op.create_index(
        op.f("ix_inhibitions_kind_value"), "inhibitions", ["kind", "value"], unique=False
    )
    op.create_index(op.f("ix_inhibitions_expires_at"), "inhibitions", ["expires_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_inhibitions_expires_at"), table_name="inhibitions")
    op.drop_index(op.f("ix_inhibitions_kind_value"), table_name="inhibitions")
    op.drop_table("inhibitions")
    with op.batch_alter_table("contacts") as batch:
        batch.drop_column("webhook_secret")
        batch.drop_column("webhook_url")
        batch.drop_column("channel")
