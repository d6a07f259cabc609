"""Schema changes owned by the service layer: providers' contact change requests.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import hostwatch.model.base

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "contact_requests",
        sa.Column("id", _ID, nullable=False),
        sa.Column("provider_id", _ID, nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("requested_at", hostwatch.model.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("requested_by", sa.String(length=100), nullable=False),
        sa.Column("decided_at", hostwatch.model.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.String(length=100), nullable=True),
        sa.ForeignKeyConstraint(
            ["provider_id"],
            ["providers.id"],
            name=op.f("fk_contact_requests_provider_id_providers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_requests")),
    )
    with op.batch_alter_table("contact_requests") as batch:
        batch.create_index(
            batch.f("ix_contact_requests_provider_id_status"), ["provider_id", "status"]
        )


def downgrade() -> None:
    with op.batch_alter_table("contact_requests") as batch:
        batch.drop_index(batch.f("ix_contact_requests_provider_id_status"))
    op.drop_table("contact_requests")
