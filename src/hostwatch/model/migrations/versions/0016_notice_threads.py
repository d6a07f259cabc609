"""A ticket per case for life, and the thread each message belongs to.

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("ticket", sa.String(length=32), nullable=True))
        batch.create_index(batch.f("ix_cases_ticket"), ["ticket"], unique=True)
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("thread", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("in_reply_to", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("references_header", sa.Text(), nullable=True))
        batch.create_index(batch.f("ix_messages_contact_id"), ["contact_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.drop_index(batch.f("ix_messages_contact_id"))
        batch.drop_column("references_header")
        batch.drop_column("in_reply_to")
        batch.drop_column("thread")
    with op.batch_alter_table("cases") as batch:
        batch.drop_index(batch.f("ix_cases_ticket"))
        batch.drop_column("ticket")
