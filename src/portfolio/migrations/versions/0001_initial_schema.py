"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-25 01:21:57.498332
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "imports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=500), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("format", sa.String(length=40), nullable=False),
        sa.Column("readings", sa.Integer(), nullable=False),
        sa.Column(
            "imported_at", sa.DateTime(timezone=True), server_default=sa.text("(CURRENT_TIMESTAMP)"), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_imports")),
    )
    with op.batch_alter_table("imports", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_imports_sha256"), ["sha256"], unique=False)

    op.create_table(
        "login_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at_ts", sa.BigInteger(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=True),
        sa.Column("success", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_attempts")),
    )
    with op.batch_alter_table("login_attempts", schema=None) as batch_op:
        batch_op.create_index("ix_login_attempts_email_at", ["email", "at_ts"], unique=False)
        batch_op.create_index("ix_login_attempts_ip_at", ["ip", "at_ts"], unique=False)

    op.create_table(
        "organisations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("account_number", sa.String(length=64), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.text("(CURRENT_TIMESTAMP)"), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organisations")),
        sa.UniqueConstraint("account_number", name=op.f("uq_organisations_account_number")),
    )
    op.create_table(
        "weather_locations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_weather_locations")),
        sa.UniqueConstraint("name", name=op.f("uq_weather_locations_name")),
    )
    op.create_table(
        "sites",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("postcode", sa.String(length=16), nullable=True),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("time_zone", sa.String(length=64), nullable=False),
        sa.Column(
            "fuel",
            sa.Enum("power", "gas", name="fuel", native_enum=False, create_constraint=True, length=20),
            nullable=False,
        ),
        sa.Column(
            "meter_type",
            sa.Enum("smart", "amr", "hh", name="meter_type", native_enum=False, create_constraint=True, length=20),
            nullable=False,
        ),
        sa.Column("profile_class", sa.String(length=8), nullable=True),
        sa.Column(
            "direction",
            sa.Enum("import", "export", name="direction", native_enum=False, create_constraint=True, length=20),
            nullable=False,
        ),
        sa.Column("weather_location_id", sa.Integer(), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.text("(CURRENT_TIMESTAMP)"), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"], ["organisations.id"], name=op.f("fk_sites_organisation_id_organisations")
        ),
        sa.ForeignKeyConstraint(
            ["weather_location_id"],
            ["weather_locations.id"],
            name=op.f("fk_sites_weather_location_id_weather_locations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sites")),
    )
    with op.batch_alter_table("sites", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sites_organisation_id"), ["organisation_id"], unique=False)

    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column(
            "role",
            sa.Enum(
                "customer",
                "broker",
                "account_manager",
                "admin",
                name="role",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("display_name", sa.String(length=200), nullable=True),
        sa.Column("organisation_id", sa.Integer(), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.text("(CURRENT_TIMESTAMP)"), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_users_organisation_id_organisations"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("email", name=op.f("uq_users_email")),
    )
    op.create_table(
        "weather_readings",
        sa.Column("location_id", sa.Integer(), nullable=False),
        sa.Column("hour_ts", sa.BigInteger(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("observed", "forecast", name="weather_kind", native_enum=False, create_constraint=True, length=20),
            nullable=False,
        ),
        sa.Column("air_temperature_c", sa.Float(), nullable=False),
        sa.Column("issued_at_ts", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["location_id"],
            ["weather_locations.id"],
            name=op.f("fk_weather_readings_location_id_weather_locations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("location_id", "hour_ts", "kind", name=op.f("pk_weather_readings")),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.text("(CURRENT_TIMESTAMP)"), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_audit_log_user_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_log_at"), ["at"], unique=False)

    op.create_table(
        "daily_usage",
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("local_date", sa.Date(), nullable=False),
        sa.Column("energy_kwh", sa.Float(), nullable=False),
        sa.Column("intervals", sa.Integer(), nullable=False),
        sa.Column("estimated_intervals", sa.Integer(), nullable=False),
        sa.Column("interval_seconds", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_daily_usage_site_id_sites"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("site_id", "local_date", name=op.f("pk_daily_usage")),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "meters",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("identifier", sa.String(length=200), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "mpan",
                "mprn",
                "espi",
                "other",
                name="identifier_kind",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], name=op.f("fk_meters_site_id_sites"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meters")),
        sa.UniqueConstraint("identifier", name=op.f("uq_meters_identifier")),
    )
    with op.batch_alter_table("meters", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_meters_site_id"), ["site_id"], unique=False)

    op.create_table(
        "portfolio_groups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.text("(CURRENT_TIMESTAMP)"), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_portfolio_groups_owner_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portfolio_groups")),
        sa.UniqueConstraint("owner_id", "name", name=op.f("uq_portfolio_groups_owner_id")),
    )
    with op.batch_alter_table("portfolio_groups", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_portfolio_groups_owner_id"), ["owner_id"], unique=False)

    op.create_table(
        "readings",
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("start_ts", sa.BigInteger(), nullable=False),
        sa.Column("interval_seconds", sa.Integer(), nullable=False),
        sa.Column("energy_kwh", sa.Float(), nullable=False),
        sa.Column("estimated", sa.Boolean(), nullable=False),
        sa.Column("import_id", sa.Integer(), nullable=True),
        sa.Column("original_value", sa.Float(), nullable=True),
        sa.Column("original_unit", sa.String(length=12), nullable=True),
        sa.ForeignKeyConstraint(
            ["import_id"], ["imports.id"], name=op.f("fk_readings_import_id_imports"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], name=op.f("fk_readings_site_id_sites"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("site_id", "start_ts", name=op.f("pk_readings")),
        sqlite_with_rowid=False,
    )
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
    op.create_table(
        "portfolio_group_sites",
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["portfolio_groups.id"],
            name=op.f("fk_portfolio_group_sites_group_id_portfolio_groups"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_portfolio_group_sites_site_id_sites"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("group_id", "site_id", name=op.f("pk_portfolio_group_sites")),
    )


def downgrade() -> None:
    op.drop_table("portfolio_group_sites")
    op.drop_table("user_organisations")
    op.drop_table("readings")
    with op.batch_alter_table("portfolio_groups", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_portfolio_groups_owner_id"))

    op.drop_table("portfolio_groups")
    with op.batch_alter_table("meters", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_meters_site_id"))

    op.drop_table("meters")
    op.drop_table("daily_usage")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_log_at"))

    op.drop_table("audit_log")
    op.drop_table("weather_readings")
    op.drop_table("users")
    with op.batch_alter_table("sites", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sites_organisation_id"))

    op.drop_table("sites")
    op.drop_table("weather_locations")
    op.drop_table("organisations")
    with op.batch_alter_table("login_attempts", schema=None) as batch_op:
        batch_op.drop_index("ix_login_attempts_ip_at")
        batch_op.drop_index("ix_login_attempts_email_at")

    op.drop_table("login_attempts")
    with op.batch_alter_table("imports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_imports_sha256"))

    op.drop_table("imports")
