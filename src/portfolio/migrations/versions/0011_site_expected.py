"""site expected: stored per-site predictions (expected kWh and variance per bucket) and their provenance

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "site_expected",
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("resolution", sa.String(length=8), nullable=False),
        sa.Column("start_ts", sa.BigInteger(), nullable=False),
        sa.Column("expected_kwh", sa.Float(), nullable=False),
        sa.Column("variance_kwh2", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_site_expected_site_id_sites"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("site_id", "resolution", "start_ts", name=op.f("pk_site_expected")),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "site_expected_state",
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("model_fitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lo_ts", sa.BigInteger(), nullable=False),
        sa.Column("hi_ts", sa.BigInteger(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_site_expected_state_site_id_sites"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("site_id", name=op.f("pk_site_expected_state")),
    )


def downgrade() -> None:
    op.drop_table("site_expected_state")
    op.drop_table("site_expected")
