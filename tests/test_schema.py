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
