"""Triage before notice: each source's trust level, the analysts' verdicts, and whether a case's
notices wait for one.

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import hostwatch.model.base

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "source_trust",
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("assessed", sa.Boolean(), nullable=False),
        sa.Column("set_at", hostwatch.model.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("set_by", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("source", name=op.f("pk_source_trust")),
    )
    op.create_table(
        "triage_verdicts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("case_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("verdict", sa.String(length=16), nullable=False),
        sa.Column("classification", sa.String(length=64), nullable=True),
        sa.Column("legal_basis", sa.Text(), nullable=True),
        sa.Column("analyst", sa.String(length=100), nullable=False),
        sa.Column("decided_at", hostwatch.model.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_triage_verdicts_case_id_cases")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_triage_verdicts")),
    )
    op.create_index(
        op.f("ix_triage_verdicts_case_id"), "triage_verdicts", ["case_id"], unique=False
    )
    op.create_index(
        op.f("ix_triage_verdicts_decided_at"), "triage_verdicts", ["decided_at"], unique=False
    )
    # Cases opened before triage existed came from sources nobody had to assess: None.
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("triage", sa.String(length=16), nullable=True))
        batch.create_index(batch.f("ix_cases_triage"), ["triage"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.drop_index(batch.f("ix_cases_triage"))
        batch.drop_column("triage")
    op.drop_index(op.f("ix_triage_verdicts_decided_at"), table_name="triage_verdicts")
    op.drop_index(op.f("ix_triage_verdicts_case_id"), table_name="triage_verdicts")
    op.drop_table("triage_verdicts")
    op.drop_table("source_trust")
