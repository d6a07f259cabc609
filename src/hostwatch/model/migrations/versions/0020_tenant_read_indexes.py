"""Indexes for a provider's reads: attributions by origin AS, cases by attribution.

A provider token sees the cases whose attribution lies in its verified assets
(``attribution/asset_match.py``): ``cases.attribution_id IN (SELECT id FROM attributions WHERE
origin_asn IN (...))``. Without these indexes every page of its case list and every feed read
scanned the whole attributions table.

Revision ID: 0020
Revises: 0019
"""

from __future__ import annotations

from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(op.f("ix_attributions_origin_asn"), "attributions", ["origin_asn"])
    op.create_index(op.f("ix_cases_attribution_id"), "cases", ["attribution_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_cases_attribution_id"), table_name="cases")
    op.drop_index(op.f("ix_attributions_origin_asn"), table_name="attributions")
