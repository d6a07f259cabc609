"""Providers' responses to the monitor report (right of reply), entered by the analyst.

Revision ID: 0019
Revises: 0018
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import hostwatch.model.base

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "report_replies",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("provider", sa.Text(), nullable=False),
        sa.Column("period", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("entered_at", hostwatch.model.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("entered_by", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_replies")),
    )
    op.create_index(
        "ix_report_replies_period_provider",
        "report_replies",
        ["period", "provider"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_report_replies_period_provider", table_name="report_replies")
    op.drop_table("report_replies")
