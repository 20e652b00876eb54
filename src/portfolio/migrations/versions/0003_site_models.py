"""site models: fitted expected-consumption models with their backtest quality

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "site_models",
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("message", sa.String(length=500), nullable=True),
        sa.Column("resolution", sa.String(length=8), nullable=True),
        sa.Column("model", sa.JSON(), nullable=True),
        sa.Column("cvrmse_pct", sa.Float(), nullable=True),
        sa.Column("nmbe_pct", sa.Float(), nullable=True),
        sa.Column("training_days", sa.Integer(), nullable=True),
        sa.Column("data_end_ts", sa.BigInteger(), nullable=True),
        sa.Column("fitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_site_models_site_id_sites"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("site_id", name=op.f("pk_site_models")),
    )


def downgrade() -> None:
    op.drop_table("site_models")
