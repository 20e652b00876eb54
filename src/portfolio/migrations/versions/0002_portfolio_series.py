"""portfolio series: per-scope consumption kept current on import and group change

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "portfolio_series",
        sa.Column("scope_kind", sa.String(length=8), nullable=False),
        sa.Column("scope_id", sa.Integer(), nullable=False),
        sa.Column("fuel", sa.String(length=8), nullable=False),
        sa.Column("resolution", sa.String(length=8), nullable=False),
        sa.Column("start_ts", sa.BigInteger(), nullable=False),
        sa.Column("weather_location_id", sa.Integer(), nullable=False),
        sa.Column("energy_kwh", sa.Float(), nullable=False),
        sa.Column("sites_reporting", sa.Integer(), nullable=False),
        sa.Column("estimated_intervals", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "scope_kind",
            "scope_id",
            "fuel",
            "resolution",
            "start_ts",
            "weather_location_id",
            name=op.f("pk_portfolio_series"),
        ),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    op.drop_table("portfolio_series")
