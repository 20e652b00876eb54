"""enrolment: the customer list (micro-business flag, elected broker, contacts) and the half-hourly opt-out

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "enrolments",
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("micro_business", sa.Boolean(), nullable=False),
        sa.Column("elected_broker", sa.String(length=320), nullable=True),
        sa.Column("notice_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("opted_out_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_enrolments_organisation_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("organisation_id", name=op.f("pk_enrolments")),
    )
    op.create_index(op.f("ix_enrolments_opted_out_at"), "enrolments", ["opted_out_at"], unique=False)
    op.create_table(
        "organisation_contacts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column(
            "kind",
            sa.Enum(
                "primary",
                "billing",
                "general",
                name="contact_kind",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("portal_user", sa.Boolean(), nullable=False),
        sa.Column(
            "source",
            sa.Enum("import", "customer", name="contact_source", native_enum=False, create_constraint=True, length=20),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_organisation_contacts_organisation_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organisation_contacts")),
    )
    op.create_index(
        op.f("ix_organisation_contacts_organisation_id"), "organisation_contacts", ["organisation_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_organisation_contacts_organisation_id"), table_name="organisation_contacts")
    op.drop_table("organisation_contacts")
    op.drop_index(op.f("ix_enrolments_opted_out_at"), table_name="enrolments")
    op.drop_table("enrolments")
