"""The migrations build exactly the schema the models describe, on both engines."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect

from portfolio.db import make_engine
from portfolio.models import Base
from portfolio.schema import is_current, upgrade


def test_migrations_match_models(engine: Engine) -> None:
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []
    assert is_current(engine)


def test_upgrade_is_idempotent(engine: Engine) -> None:
    upgrade(engine)
    assert {"readings", "sites", "users", "daily_usage", "weather_readings"} <= set(inspect(engine).get_table_names())


def test_sqlite_series_tables_are_clustered_on_their_key(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    with engine.connect() as connection:
        for table in ("readings", "daily_usage", "weather_readings"):
            sql = connection.exec_driver_sql("SELECT sql FROM sqlite_master WHERE name = ?", (table,)).scalar_one()
            assert "WITHOUT ROWID" in sql
    engine.dispose()


def test_expected_series_migration_downgrades_and_upgrades_again(engine: Engine) -> None:
    from alembic import command

    from portfolio.schema import alembic_config

    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0004")
    tables = set(inspect(engine).get_table_names())
    assert (
        "expected_series" not in tables and "expected_series_refreshes" not in tables and "portfolio_series" in tables
    )
    assert not is_current(engine)
    upgrade(engine)
    assert {"expected_series", "expected_series_refreshes"} <= set(inspect(engine).get_table_names())
    assert is_current(engine)


def test_sqlite_expected_series_is_clustered_on_its_key(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    with engine.connect() as connection:
        sql = connection.exec_driver_sql("SELECT sql FROM sqlite_master WHERE name = 'expected_series'").scalar_one()
    assert "WITHOUT ROWID" in sql
    engine.dispose()
