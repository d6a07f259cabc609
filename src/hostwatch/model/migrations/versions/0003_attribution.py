"""Attribution: a reason for every non-ok status, the shared platform, lookup by notice.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("attributions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reason", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("shared_platform", sa.String(length=100), nullable=True))
        batch_op.create_index(batch_op.f("ix_attributions_notice_id"), ["notice_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("attributions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_attributions_notice_id"))
        batch_op.drop_column("shared_platform")
        batch_op.drop_column("reason")
