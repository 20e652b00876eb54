"""``portfolio init-db``: create or upgrade the database schema."""

from __future__ import annotations

import argparse

from portfolio.cli.common import EXIT_OK, Commands, open_engine
from portfolio.config import Settings


def cmd_init_db(args: argparse.Namespace, settings: Settings) -> int:
    from alembic.migration import MigrationContext

    engine = open_engine(settings, write=True)
    try:
        with engine.connect() as connection:
            revision = MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()
    print(f"database at revision {revision}")
    return EXIT_OK


def register(commands: Commands) -> None:
    init_db = commands.add_parser("init-db", help="create or upgrade the database schema")
    init_db.set_defaults(handler=cmd_init_db)
