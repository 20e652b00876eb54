"""tracker ledger: every evaluation of a tracker's period kept, with its projection band and state

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tracker_evaluations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tracker_id", sa.Integer(), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("data_day", sa.Date(), nullable=False),
        sa.Column("evaluated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("consumption_kwh", sa.Float(), nullable=True),
        sa.Column("target_kwh", sa.Float(), nullable=True),
        sa.Column("sites_reporting", sa.Integer(), nullable=False),
        sa.Column("sites_total", sa.Integer(), nullable=False),
        sa.Column("projection_kwh", sa.Float(), nullable=True),
        sa.Column("projection_lower_kwh", sa.Float(), nullable=True),
        sa.Column("projection_upper_kwh", sa.Float(), nullable=True),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("reason", sa.String(length=12), nullable=False),
        sa.ForeignKeyConstraint(
            ["tracker_id"], ["trackers.id"], name=op.f("fk_tracker_evaluations_tracker_id_trackers"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tracker_evaluations")),
    )
    op.create_index(
        "ix_tracker_evaluations_period", "tracker_evaluations", ["tracker_id", "period_start", "evaluated_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_tracker_evaluations_period", table_name="tracker_evaluations")
    op.drop_table("tracker_evaluations")
