"""site missing estimates: per site and UK local day, the stored predictions' estimate of its missing intervals

Revision ID: 0017
Revises: 0016
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "site_missing_estimates",
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("local_date", sa.Date(), nullable=False),
        sa.Column("reported_intervals", sa.Integer(), nullable=False),
        sa.Column("estimated_kwh", sa.Float(), nullable=True),
        sa.Column("estimated_se_kwh", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("site_id", "local_date"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "site_missing_estimate_state",
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("from_date", sa.Date(), nullable=False),
        sa.Column("through_date", sa.Date(), nullable=False),
        sa.Column("model_fitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("predictions_computed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("site_id"),
    )


def downgrade() -> None:
    op.drop_table("site_missing_estimate_state")
    op.drop_table("site_missing_estimates")
