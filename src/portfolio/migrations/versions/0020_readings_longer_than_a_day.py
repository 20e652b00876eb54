"""readings: a partial index of the readings longer than a day (daily exports read the roll-up for every other site)

Revision ID: 0020
Revises: 0019
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

LONGER_THAN_A_DAY = sa.text("interval_seconds > 86400")


def upgrade() -> None:
    op.create_index(
        "ix_readings_longer_than_a_day",
        "readings",
        ["site_id", "start_ts"],
        postgresql_where=LONGER_THAN_A_DAY,
        sqlite_where=LONGER_THAN_A_DAY,
    )


def downgrade() -> None:
    op.drop_index("ix_readings_longer_than_a_day", table_name="readings")
