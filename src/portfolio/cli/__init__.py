"""The ``portfolio`` command: schema, imports, demo data, users, site lists and the web server.

Every command reads its settings through :func:`portfolio.config.load_settings` and imports the heavy modules
(parsers, demo, web app) only when it runs, so ``portfolio --help`` stays instant. Each command family lives in
``cli/<noun>.py`` (the service layer's noun) with a ``register(commands)`` that adds its parser(s) and handlers.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from portfolio.cli import (
    aggregates,
    customers,
    database,
    demo,
    expected,
    exports,
    graphs,
    imports,
    pipeline,
    retention,
    series,
    serve,
    sites,
    third_parties,
    users,
)
from portfolio.cli.common import EXIT_FAILED, CommandError
from portfolio.config import load_settings

# The order of ``portfolio --help``'s command list.
COMMAND_MODULES = (
    database,
    imports,
    demo,
    users,
    third_parties,
    customers,
    sites,
    series,
    exports,
    expected,
    graphs,
    pipeline,
    retention,
    aggregates,
    serve,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="portfolio", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; return its exit status (argument errors exit 2 through argparse)."""
    args = build_parser().parse_args(argv)
    settings = load_settings()
    try:
        return int(args.handler(args, settings))
    except CommandError as error:
        print(f"portfolio: error: {error}", file=sys.stderr)
        return EXIT_FAILED
