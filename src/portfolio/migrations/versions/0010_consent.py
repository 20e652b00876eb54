"""consent: grants (with chosen sites), shared views with recipients and opens, audit entries about an organisation;
today's broker and account-manager links become grants and their table goes

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_GRANTEE_KINDS = ("broker", "account_manager", "person", "application")
_RIGHTS = ("read", "manage")


def _check_enum(values: tuple[str, ...], name: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=20)


def upgrade() -> None:
    op.create_table(
        "shared_views",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=True),
        sa.Column("date_from", sa.Date(), nullable=False),
        sa.Column("date_to", sa.Date(), nullable=False),
        sa.Column("fuel", sa.String(length=8), nullable=False),
        sa.Column("granularity", sa.String(length=8), nullable=False),
        sa.Column("valid_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["portfolio_groups.id"],
            name=op.f("fk_shared_views_group_id_portfolio_groups"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_shared_views_owner_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["revoked_by_id"], ["users.id"], name=op.f("fk_shared_views_revoked_by_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shared_views")),
    )
    op.create_index(op.f("ix_shared_views_owner_id"), "shared_views", ["owner_id"], unique=False)
    op.create_table(
        "grants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("granted_by_id", sa.Integer(), nullable=True),
        sa.Column("grantee_kind", _check_enum(_GRANTEE_KINDS, "grantee_kind"), nullable=False),
        sa.Column("grantee_user_id", sa.Integer(), nullable=True),
        sa.Column("grantee_organisation_id", sa.Integer(), nullable=True),
        sa.Column("grantee_email", sa.String(length=320), nullable=True),
        sa.Column("application_id", sa.Integer(), nullable=True),
        sa.Column("all_sites", sa.Boolean(), nullable=False),
        sa.Column("interval_usage", sa.Boolean(), nullable=False),
        sa.Column("daily_totals", sa.Boolean(), nullable=False),
        sa.Column("site_details", sa.Boolean(), nullable=False),
        sa.Column("rights", _check_enum(_RIGHTS, "grant_rights"), nullable=False),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.text("(CURRENT_TIMESTAMP)"), nullable=False
        ),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_by_id", sa.Integer(), nullable=True),
        sa.Column("shared_view_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["granted_by_id"], ["users.id"], name=op.f("fk_grants_granted_by_id_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["grantee_organisation_id"],
            ["organisations.id"],
            name=op.f("fk_grants_grantee_organisation_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["grantee_user_id"], ["users.id"], name=op.f("fk_grants_grantee_user_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_grants_organisation_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["revoked_by_id"], ["users.id"], name=op.f("fk_grants_revoked_by_id_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["shared_view_id"],
            ["shared_views.id"],
            name=op.f("fk_grants_shared_view_id_shared_views"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grants")),
    )
    op.create_index("ix_grants_grantee_user", "grants", ["grantee_user_id", "revoked_at"], unique=False)
    op.create_index("ix_grants_grantee_email", "grants", ["grantee_email", "revoked_at"], unique=False)
    op.create_index("ix_grants_grantee_organisation", "grants", ["grantee_organisation_id", "revoked_at"], unique=False)
    op.create_index(op.f("ix_grants_organisation_id"), "grants", ["organisation_id"], unique=False)
    op.create_index(op.f("ix_grants_shared_view_id"), "grants", ["shared_view_id"], unique=False)
    op.create_table(
        "grant_sites",
        sa.Column("grant_id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["grant_id"], ["grants.id"], name=op.f("fk_grant_sites_grant_id_grants"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_grant_sites_site_id_sites"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("grant_id", "site_id", name=op.f("pk_grant_sites")),
    )
    op.create_index(op.f("ix_grant_sites_site_id"), "grant_sites", ["site_id"], unique=False)
    op.create_table(
        "shared_view_recipients",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shared_view_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("invited", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["shared_view_id"],
            ["shared_views.id"],
            name=op.f("fk_shared_view_recipients_shared_view_id_shared_views"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_shared_view_recipients_user_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shared_view_recipients")),
        sa.UniqueConstraint("shared_view_id", "email", name=op.f("uq_shared_view_recipients_shared_view_id")),
    )
    op.create_index(op.f("ix_shared_view_recipients_email"), "shared_view_recipients", ["email"], unique=False)
    op.create_table(
        "shared_view_opens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shared_view_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["shared_view_id"],
            ["shared_views.id"],
            name=op.f("fk_shared_view_opens_shared_view_id_shared_views"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_shared_view_opens_user_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shared_view_opens")),
    )
    op.create_index("ix_shared_view_opens_view_at", "shared_view_opens", ["shared_view_id", "opened_at"], unique=False)
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.add_column(sa.Column("organisation_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("dedupe_key", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("last_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_audit_log_organisation_id_organisations"),
            "organisations",
            ["organisation_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_unique_constraint(batch_op.f("uq_audit_log_dedupe_key"), ["dedupe_key"])
        batch_op.create_index("ix_audit_log_organisation_at", ["organisation_id", "at"], unique=False)
    _links_to_grants()
    op.drop_table("user_organisations")


def _links_to_grants() -> None:
    """Each broker link becomes a manage grant, each account-manager link a read grant, over all sites and data."""
    connection = op.get_bind()
    links = connection.execute(
        sa.text(
            "SELECT uo.user_id, uo.organisation_id, u.role FROM user_organisations uo "
            "JOIN users u ON u.id = uo.user_id WHERE u.role IN ('broker', 'account_manager') "
            "ORDER BY uo.user_id, uo.organisation_id"
        )
    ).all()
    if not links:
        return
    now = dt.datetime.now(dt.UTC)
    grants = sa.table(
        "grants",
        sa.column("organisation_id", sa.Integer),
        sa.column("grantee_kind", sa.String),
        sa.column("grantee_user_id", sa.Integer),
        sa.column("all_sites", sa.Boolean),
        sa.column("interval_usage", sa.Boolean),
        sa.column("daily_totals", sa.Boolean),
        sa.column("site_details", sa.Boolean),
        sa.column("rights", sa.String),
        sa.column("valid_from", sa.DateTime(timezone=True)),
        sa.column("created_at", sa.DateTime(timezone=True)),
    )
    op.bulk_insert(
        grants,
        [
            {
                "organisation_id": organisation_id,
                "grantee_kind": role,
                "grantee_user_id": user_id,
                "all_sites": True,
                "interval_usage": True,
                "daily_totals": True,
                "site_details": True,
                "rights": "manage" if role == "broker" else "read",
                "valid_from": now,
                "created_at": now,
            }
            for user_id, organisation_id, role in links
        ],
    )


def downgrade() -> None:
    op.create_table(
        "user_organisations",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_user_organisations_organisation_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_user_organisations_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", "organisation_id", name=op.f("pk_user_organisations")),
    )
    # Whole-organisation grants to brokers and account managers that are still in force become links again.
    op.execute(
        "INSERT INTO user_organisations (user_id, organisation_id) "
        "SELECT DISTINCT grantee_user_id, organisation_id FROM grants "
        "WHERE grantee_user_id IS NOT NULL AND all_sites AND revoked_at IS NULL "
        "AND grantee_kind IN ('broker', 'account_manager')"
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_log_organisation_at")
        batch_op.drop_constraint(batch_op.f("uq_audit_log_dedupe_key"), type_="unique")
        batch_op.drop_constraint(batch_op.f("fk_audit_log_organisation_id_organisations"), type_="foreignkey")
        batch_op.drop_column("last_at")
        batch_op.drop_column("dedupe_key")
        batch_op.drop_column("organisation_id")
    op.drop_index("ix_shared_view_opens_view_at", table_name="shared_view_opens")
    op.drop_table("shared_view_opens")
    op.drop_index(op.f("ix_shared_view_recipients_email"), table_name="shared_view_recipients")
    op.drop_table("shared_view_recipients")
    op.drop_index(op.f("ix_grant_sites_site_id"), table_name="grant_sites")
    op.drop_table("grant_sites")
    op.drop_index(op.f("ix_grants_shared_view_id"), table_name="grants")
    op.drop_index(op.f("ix_grants_organisation_id"), table_name="grants")
    op.drop_index("ix_grants_grantee_organisation", table_name="grants")
    op.drop_index("ix_grants_grantee_email", table_name="grants")
    op.drop_index("ix_grants_grantee_user", table_name="grants")
    op.drop_table("grants")
    op.drop_index(op.f("ix_shared_views_owner_id"), table_name="shared_views")
    op.drop_table("shared_views")
