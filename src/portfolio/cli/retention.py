"""``portfolio retention``: delete (or count) data older than the retention period."""

from __future__ import annotations

import argparse

from portfolio.cli.common import EXIT_OK, CommandError, Commands, open_engine, print_json
from portfolio.config import Settings
from portfolio.db import make_session_factory


def cmd_retention(args: argparse.Namespace, settings: Settings) -> int:
    """Delete (or, with --dry-run, count) readings and derived data older than PORTFOLIO_RETENTION_DAYS."""
    import datetime as dt

    from portfolio.services.retention import plan_retention, purge_expired
    from portfolio.timekeeping import local_today

    try:
        today = dt.date.fromisoformat(args.date) if args.date else local_today()
    except ValueError:
        raise CommandError(f"--date must be a date like 2026-11-26, not {args.date!r}") from None
    engine = open_engine(settings, write=not args.dry_run)
    try:
        factory = make_session_factory(engine)
        run = plan_retention if args.dry_run else purge_expired
        report = run(factory, today, settings.retention_days)
    finally:
        engine.dispose()
    if args.json:
        print_json(report.as_json())
        return EXIT_OK
    verb = "would delete" if args.dry_run else "deleted"
    print(f"retention {settings.retention_days} days: cutoff {report.cutoff.day} (UK); {verb} {report.total:,} rows")
    for table, count in report.counts.items():
        print(f"  {table:<20} {count:>12,}")
    return EXIT_OK


def register(commands: Commands) -> None:
    keep = commands.add_parser("retention", help="delete readings and derived data older than the retention period")
    keep.add_argument("--dry-run", action="store_true", help="count what would go, per table; delete nothing")
    keep.add_argument("--json", action="store_true", help="print the cutoff and counts as JSON")
    keep.add_argument("--date", metavar="DATE", help="as if today (UK) were DATE")
    keep.set_defaults(handler=cmd_retention)
