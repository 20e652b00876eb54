"""expected series: per-scope expected consumption precomputed in batch, and when each scope was refreshed

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "expected_series",
        sa.Column("scope_kind", sa.String(length=8), nullable=False),
        sa.Column("scope_id", sa.Integer(), nullable=False),
        sa.Column("fuel", sa.String(length=8), nullable=False),
        sa.Column("resolution", sa.String(length=8), nullable=False),
        sa.Column("start_ts", sa.BigInteger(), nullable=False),
        sa.Column("expected_kwh", sa.Float(), nullable=False),
        sa.Column("variance_kwh2", sa.Float(), nullable=False),
        sa.Column("sites", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "scope_kind", "scope_id", "fuel", "resolution", "start_ts", name=op.f("pk_expected_series")
        ),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "expected_series_refreshes",
        sa.Column("scope_kind", sa.String(length=8), nullable=False),
        sa.Column("scope_id", sa.Integer(), nullable=False),
        sa.Column("fuel", sa.String(length=8), nullable=False),
        sa.Column("refreshed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lo_ts", sa.BigInteger(), nullable=False),
        sa.Column("hi_ts", sa.BigInteger(), nullable=False),
        sa.Column("sites", sa.Integer(), nullable=False),
        sa.Column("sites_modelled", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("scope_kind", "scope_id", "fuel", name=op.f("pk_expected_series_refreshes")),
    )


def downgrade() -> None:
    op.drop_table("expected_series_refreshes")
    op.drop_table("expected_series")
