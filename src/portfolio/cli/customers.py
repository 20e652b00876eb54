"""``portfolio customers``: the supplier's customer list."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from portfolio.cli.common import EXIT_OK, CommandError, Commands, open_engine, print_json
from portfolio.config import Settings
from portfolio.db import make_session_factory
from portfolio.ingest.records import ImportFormatError


def cmd_customers_import(args: argparse.Namespace, settings: Settings) -> int:
    """Import the supplier's customer list: all of it or (with every problem's line printed) none of it."""
    from portfolio.ingest.customers import CustomerListError
    from portfolio.services.customers import import_customer_list

    path = Path(args.file)
    if not path.is_file():
        raise CommandError(f"no such file: {path}")
    engine = open_engine(settings, write=True)
    try:
        with make_session_factory(engine)() as session:
            try:
                report = import_customer_list(session, path.name, path.read_bytes(), settings=settings)
            except CustomerListError as error:
                if args.json:
                    print_json({"error": "refused", "problems": error.problems})
                for problem in error.problems:
                    print(f"{path}: {problem}", file=sys.stderr)
                raise CommandError("customer list refused: nothing was changed") from error
            except ImportFormatError as error:
                raise CommandError(str(error)) from error
    finally:
        engine.dispose()
    if args.json:
        print_json(report.as_json())
    else:
        print(
            f"{path}: {report.created} created, {report.changed} changed, {report.unchanged} unchanged; "
            f"{report.invited} invited; contact details needed: {report.contact_details_needed}; "
            f"opt-out notices: {report.notices_sent}"
        )
    return EXIT_OK


def register(commands: Commands) -> None:
    customer_list = commands.add_parser("customers", help="the supplier's customer list")
    customer_commands = customer_list.add_subparsers(dest="customers_command", required=True, metavar="COMMAND")
    customers_import = customer_commands.add_parser("import", help="import the customer list (CSV or XLSX)")
    customers_import.add_argument("file", metavar="FILE")
    customers_import.add_argument("--json", action="store_true", help="print a JSON summary")
    customers_import.set_defaults(handler=cmd_customers_import)
