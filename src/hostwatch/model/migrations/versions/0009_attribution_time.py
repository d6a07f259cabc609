"""Attribution within its time: where the address came from, and whether the data was stale.

``ip_origin`` says whether the notice carried the address or DNS gave it at intake or later;
``stale`` marks an attribution computed with a snapshot too far from (or after) the notice's
time, ``stale_reason`` names which parts, so figures can leave stale attributions out.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("attributions") as batch:
        batch.add_column(sa.Column("ip_origin", sa.String(length=32), nullable=True))
        batch.add_column(
            sa.Column("stale", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("stale_reason", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("attributions") as batch:
        batch.drop_column("stale_reason")
        batch.drop_column("stale")
        batch.drop_column("ip_origin")
