"""``portfolio aggregates``: consumption across customers under the 15/15 rule."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from portfolio.cli.common import EXIT_OK, CommandError, Commands, open_engine
from portfolio.config import Settings
from portfolio.db import make_session_factory
from portfolio.models import Role


def cmd_aggregates_export(args: argparse.Namespace, settings: Settings) -> int:
    """Consumption across customers by region or profile class under the 15/15 rule (refused cells say why)."""
    from portfolio.access import Viewer
    from portfolio.services.aggregates import AggregateError, parse_aggregate_request, release_aggregates

    try:
        request = parse_aggregate_request(args.by, args.period, args.start, args.end)
    except AggregateError as error:
        raise CommandError(str(error)) from error
    engine = open_engine(settings, write=True)
    try:
        with make_session_factory(engine)() as session:
            operator = Viewer(user_id=0, email="cli", role=Role.ADMIN, organisation_ids=None)
            release = release_aggregates(session, operator, request, via="cli")
    finally:
        engine.dispose()
    text = json.dumps(release.records()) + "\n" if args.format == "json" else release.as_csv()
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8", newline="")
        print(f"{args.output}: {len(release.cells)} cells, {release.released} released, {release.suppressed} refused")
    else:
        sys.stdout.write(text)
    return EXIT_OK


def register(commands: Commands) -> None:
    aggregates = commands.add_parser("aggregates", help="consumption across customers under the 15/15 rule")
    aggregate_commands = aggregates.add_subparsers(dest="aggregates_command", required=True, metavar="COMMAND")
    release = aggregate_commands.add_parser("export", help="cells by region or profile class; refused ones say why")
    release.add_argument("--by", required=True, choices=["region", "profile-class"])
    release.add_argument("--period", required=True, choices=["day", "month"])
    release.add_argument("--from", dest="start", required=True, metavar="DATE", help="first local day")
    release.add_argument("--to", dest="end", required=True, metavar="DATE", help="last local day, inclusive")
    release.add_argument("--format", default="csv", choices=["csv", "json"])
    release.add_argument("-o", "--output", metavar="FILE", help="write here instead of standard output")
    release.set_defaults(handler=cmd_aggregates_export)
