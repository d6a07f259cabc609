"""The regulator's records (orders, their events and proposals, turnovers, sanctions) and
checks asked for at set times (around an order's deadline).

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

import hostwatch.model.base

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "check_appointments",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("case_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("due_at", hostwatch.model.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_check_appointments_case_id_cases")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_check_appointments")),
    )
    op.create_index(
        op.f("ix_check_appointments_case_id_due_at"),
        "check_appointments",
        ["case_id", "due_at"],
        unique=False,
    )
    op.create_table(
        "provider_turnovers",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "provider_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("amount_eur", sa.Float(), nullable=False),
        sa.Column("entered_at", hostwatch.model.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("entered_by", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["provider_id"],
            ["providers.id"],
            name=op.f("fk_provider_turnovers_provider_id_providers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_provider_turnovers")),
    )
    op.create_index(
        op.f("ix_provider_turnovers_provider_id_year"),
        "provider_turnovers",
        ["provider_id", "year"],
        unique=False,
    )
    op.create_table(
        "sanctions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("reference", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column(
            "refers_to_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column(
            "provider_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("period", sa.String(length=32), nullable=False),
        sa.Column("at", hostwatch.model.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("amount_eur", sa.Float(), nullable=True),
        sa.Column("outcome", sa.String(length=32), nullable=True),
        sa.Column("published", sa.Boolean(), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column(
            "data",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=True,
        ),
        sa.ForeignKeyConstraint(
            ["provider_id"], ["providers.id"], name=op.f("fk_sanctions_provider_id_providers")
        ),
        sa.ForeignKeyConstraint(
            ["refers_to_id"], ["sanctions.id"], name=op.f("fk_sanctions_refers_to_id_sanctions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sanctions")),
        sa.UniqueConstraint("reference", name=op.f("uq_sanctions_reference")),
    )
    op.create_index(
        op.f("ix_sanctions_provider_id_kind"), "sanctions", ["provider_id", "kind"], unique=False
    )
    op.create_table(
        "orders",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("reference", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("amends_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column(
            "provider_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("classification", sa.String(length=64), nullable=False),
        sa.Column("basis", sa.Text(), nullable=False),
        sa.Column("issued_at", hostwatch.model.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("deadline_hours", sa.Float(), nullable=False),
        sa.Column("deadline_at", hostwatch.model.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("issued_by", sa.String(length=100), nullable=False),
        sa.Column("contact_email", sa.String(length=320), nullable=True),
        sa.Column(
            "message_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.ForeignKeyConstraint(
            ["amends_id"], ["orders.id"], name=op.f("fk_orders_amends_id_orders")
        ),
        sa.ForeignKeyConstraint(
            ["message_id"], ["messages.id"], name=op.f("fk_orders_message_id_messages")
        ),
        sa.ForeignKeyConstraint(
            ["provider_id"], ["providers.id"], name=op.f("fk_orders_provider_id_providers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orders")),
        sa.UniqueConstraint("reference", name=op.f("uq_orders_reference")),
    )
    op.create_index(op.f("ix_orders_amends_id"), "orders", ["amends_id"], unique=False)
    op.create_index(
        op.f("ix_orders_provider_id_issued_at"),
        "orders",
        ["provider_id", "issued_at"],
        unique=False,
    )
    op.create_table(
        "order_cases",
        sa.Column("order_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("case_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_order_cases_case_id_cases")
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_order_cases_order_id_orders")
        ),
        sa.PrimaryKeyConstraint("order_id", "case_id", name=op.f("pk_order_cases")),
    )
    op.create_index(op.f("ix_order_cases_case_id"), "order_cases", ["case_id"], unique=False)
    op.create_table(
        "order_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("order_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("at", hostwatch.model.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_order_events_order_id_orders")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_events")),
    )
    op.create_index(
        op.f("ix_order_events_order_id_at"), "order_events", ["order_id", "at"], unique=False
    )
    op.create_table(
        "order_proposals",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("case_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("proposed_at", hostwatch.model.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("proposed_by", sa.String(length=100), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("order_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_order_proposals_case_id_cases")
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_order_proposals_order_id_orders")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_proposals")),
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_check_appointments_case_id_due_at"), table_name="check_appointments")
    op.drop_table("check_appointments")
    op.drop_table("order_proposals")
    op.drop_index(op.f("ix_order_events_order_id_at"), table_name="order_events")
    op.drop_table("order_events")
    op.drop_index(op.f("ix_order_cases_case_id"), table_name="order_cases")
    op.drop_table("order_cases")
    op.drop_index(op.f("ix_orders_provider_id_issued_at"), table_name="orders")
    op.drop_index(op.f("ix_orders_amends_id"), table_name="orders")
    op.drop_table("orders")
    op.drop_index(op.f("ix_sanctions_provider_id_kind"), table_name="sanctions")
    op.drop_table("sanctions")
    op.drop_index(op.f("ix_provider_turnovers_provider_id_year"), table_name="provider_turnovers")
    op.drop_table("provider_turnovers")
