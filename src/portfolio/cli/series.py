"""``portfolio rebuild-series``: recompute the portfolio graph series from the readings."""

from __future__ import annotations

import argparse

from portfolio.cli.common import EXIT_OK, Commands, open_engine
from portfolio.config import Settings
from portfolio.db import make_session_factory, transaction


def cmd_rebuild_series(args: argparse.Namespace, settings: Settings) -> int:
    """Recompute every portfolio series from the readings (a repair; imports and group edits keep them current)."""
    from portfolio.services.series import rebuild_all

    engine = open_engine(settings, write=True)
    try:
        with transaction(make_session_factory(engine)) as session:
            scopes = rebuild_all(session)
    finally:
        engine.dispose()
    print(f"rebuilt the portfolio series of {scopes} scopes")
    return EXIT_OK


def register(commands: Commands) -> None:
    rebuild = commands.add_parser("rebuild-series", help="recompute the portfolio graph series from the readings")
    rebuild.set_defaults(handler=cmd_rebuild_series)
