"""Observations by kind and time: the checker's health records are read as outage windows.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        op.f("ix_observations_kind_observed_at"), "observations", ["kind", "observed_at"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_observations_kind_observed_at"), table_name="observations")
