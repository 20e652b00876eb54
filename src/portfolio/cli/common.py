"""What every command shares: exit statuses, the error that ends a command, the engine, JSON output."""

from __future__ import annotations

import argparse
import json
from typing import Any, TypeAlias

from sqlalchemy import Engine

from portfolio.config import Settings
from portfolio.db import make_engine

EXIT_OK = 0
EXIT_FAILED = 2

Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
"""The ``COMMAND`` subparsers each command module's ``register`` adds its parsers to."""


class CommandError(Exception):
    """A command that cannot do what was asked; main prints the message and exits with status 2."""


def open_engine(settings: Settings, *, write: bool) -> Engine:
    """An engine for the configured database; writers bring the schema up to date first."""
    engine = make_engine(settings.database_url)
    if write:
        from portfolio.schema import upgrade

        upgrade(engine)
    return engine


def print_json(value: Any, *, indent: int | None = None) -> None:
    """Print one JSON document on standard output (the form scripts parse)."""
    print(json.dumps(value, indent=indent))
