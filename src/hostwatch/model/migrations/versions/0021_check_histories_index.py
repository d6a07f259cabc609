"""An index for the metrics frame: each URL's and case's checks, in the order it counts them.

The frame of a million cases collapses tens of millions of checks to a few rows per case in the
database, grouped by URL, case, online, outcome and inconclusive reason, with the first and last
check time of each group (``hostwatch.metrics.frame.summary_query``). With an index on exactly those
columns, in that order, SQLite reads the index alone in order and never sorts the checks.

Revision ID: 0021
Revises: 0020
"""

from __future__ import annotations

from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

COLUMNS = ["url_id", "case_id", "online", "outcome", "inconclusive_reason", "checked_at"]


def upgrade() -> None:
    op.create_index("ix_checks_histories", "checks", COLUMNS)


def downgrade() -> None:
    op.drop_index("ix_checks_histories", table_name="checks")
