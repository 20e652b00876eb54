"""computed results: a graph's coverage and the like, kept for the next request, keyed by the data version

Revision ID: 0018
Revises: 0017
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    versions = op.create_table(
        "data_versions",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_data_versions")),
    )
    op.bulk_insert(versions, [{"name": "usage", "version": 0}])
    op.create_table(
        "computed_results",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_computed_results")),
    )
    op.create_index(op.f("ix_computed_results_version"), "computed_results", ["version"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_computed_results_version"), table_name="computed_results")
    op.drop_table("computed_results")
    op.drop_table("data_versions")
