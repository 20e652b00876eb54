"""import profiles: named hints for file layouts, re-applied to files with the same header

Revision ID: 0008
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "import_profiles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("header_signature", sa.String(length=64), nullable=True),
        sa.Column("header", sa.String(length=2000), nullable=True),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_profiles")),
        sa.UniqueConstraint("name", name=op.f("uq_import_profiles_name")),
    )
    op.create_index(op.f("ix_import_profiles_header_signature"), "import_profiles", ["header_signature"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_import_profiles_header_signature"), table_name="import_profiles")
    op.drop_table("import_profiles")
