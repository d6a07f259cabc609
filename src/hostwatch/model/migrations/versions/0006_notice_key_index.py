"""Notice keys unique by an index instead of a table constraint.

SQLite cannot drop the index behind a UNIQUE constraint; a unique index it can, so a bulk load
may set it aside and build it once from the loaded table (hostwatch.model.bulk_indexes).

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("notices") as batch:
        batch.drop_constraint("uq_notices_notice_key", type_="unique")
    op.create_index("uq_notices_notice_key", "notices", ["notice_key"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_notices_notice_key", table_name="notices")
    with op.batch_alter_table("notices") as batch:
        batch.create_unique_constraint("uq_notices_notice_key", ["notice_key"])
