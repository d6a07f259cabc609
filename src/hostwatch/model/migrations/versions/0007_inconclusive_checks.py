"""Checks that say nothing about the target: the reason a check is inconclusive.

A failure that may be hostwatch's own (its resolver silent, no route, the checker starved, a
failed control probe in the same batch) or a target the policy forbids probing is kept as a
record, but with ``inconclusive_reason`` set it never counts towards "removed" nor "online".

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("checks") as batch:
        batch.add_column(sa.Column("inconclusive_reason", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("checks") as batch:
        batch.drop_column("inconclusive_reason")
