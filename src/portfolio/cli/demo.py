"""``portfolio load-demo`` and ``demo-logins``: the demo dataset and its logins."""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

from portfolio.cli.common import EXIT_OK, CommandError, Commands, open_engine
from portfolio.config import Settings
from portfolio.db import make_session_factory
from portfolio.queries.sites import any_organisation


def _print_logins(settings: Settings, out: TextIO) -> None:
    from portfolio.services import demo as demo

    print(demo.format_logins(demo.demo_logins(settings)), file=out)


def cmd_load_demo(args: argparse.Namespace, settings: Settings) -> int:
    from portfolio.services import demo as demo

    engine = open_engine(settings, write=True)
    factory = make_session_factory(engine)
    try:
        with factory() as session:
            has_data = any_organisation(session)
        if args.if_empty and has_data:
            print("the database already has organisations; demo not loaded")
        else:
            summary = demo.load_demo(factory, settings)
            print(
                f"demo loaded: {summary.organisations} organisations, {summary.sites} sites, "
                f"{summary.readings:,} readings, {summary.weather:,} hourly temperatures, {summary.users} users"
            )
    except RuntimeError as error:
        raise CommandError(str(error)) from error
    finally:
        engine.dispose()
    _print_logins(settings, sys.stdout)
    return EXIT_OK


def cmd_demo_logins(args: argparse.Namespace, settings: Settings) -> int:
    _print_logins(settings, sys.stdout)
    return EXIT_OK


def register(commands: Commands) -> None:
    demo = commands.add_parser("load-demo", help="load the demo dataset and print its logins")
    demo.add_argument("--if-empty", action="store_true", help="do nothing if the database has organisations")
    demo.set_defaults(handler=cmd_load_demo)

    logins = commands.add_parser("demo-logins", help="print the demo logins")
    logins.set_defaults(handler=cmd_demo_logins)
