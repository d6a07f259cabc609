"""Provider assets carry one standing: automatic, manual or verified.

Before, an asset had a ``source`` (auto, manual, admin) and a ``verified`` flag, and the access
rule also trusted "manual" providers: an unverified network typed in by hand opened every case
automatically attributed to that provider. These are three different facts, so they are one
column with three values; only ``verified`` widens what a provider's token sees.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("provider_assets") as batch:
        batch.add_column(
            sa.Column("standing", sa.String(length=16), nullable=False, server_default="automatic")
        )
    op.execute(
        "UPDATE provider_assets SET standing = CASE"
        " WHEN verified THEN 'verified'"
        " WHEN source IN ('manual', 'admin') THEN 'manual'"
        " ELSE 'automatic' END"
    )
    with op.batch_alter_table("provider_assets") as batch:
        batch.alter_column("standing", server_default=None)
        batch.drop_column("source")
        batch.drop_column("verified")


def downgrade() -> None:
    with op.batch_alter_table("provider_assets") as batch:
        batch.add_column(
            sa.Column("source", sa.String(length=16), nullable=False, server_default="auto")
        )
        batch.add_column(
            sa.Column("verified", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.execute(
        "UPDATE provider_assets SET"
        " source = CASE WHEN standing = 'automatic' THEN 'auto' ELSE 'manual' END,"
        " verified = (standing = 'verified')"
    )
    with op.batch_alter_table("provider_assets") as batch:
        batch.alter_column("source", server_default=None)
        batch.alter_column("verified", server_default=None)
        batch.drop_column("standing")
