"""``portfolio export``: readings to a file under a user's access policy."""

from __future__ import annotations

import argparse
from pathlib import Path

from portfolio.cli.common import EXIT_OK, CommandError, Commands, open_engine
from portfolio.config import Settings
from portfolio.db import make_session_factory
from portfolio.models import Role


def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    """Export readings to a file under a user's access policy (default: the operator, who sees everything)."""
    from portfolio.access import AccessDenied, Viewer, daily_only_organisation_ids, viewer_for
    from portfolio.services.accounts import find_user
    from portfolio.services.exports import ExportError, parse_export_request, plan_export, write_export_file

    scope = {"site": args.site} if args.site is not None else {"group": args.portfolio}
    params = {
        **scope,
        "from": args.start,
        "to": args.end,
        "shape": args.shape,
        "format": args.format,
        "fuel": args.fuel,
    }
    engine = open_engine(settings, write=False)
    try:
        factory = make_session_factory(engine)
        with factory() as session:
            user = find_user(session, args.as_email) if args.as_email else None
            if args.as_email and user is None:
                raise CommandError(f"no user with email {args.as_email!r}")
            viewer = (
                viewer_for(session, user)
                if user
                else Viewer(
                    user_id=0,
                    email="cli",
                    role=Role.ADMIN,
                    organisation_ids=None,
                    daily_only_organisation_ids=daily_only_organisation_ids(session),
                )
            )
            try:
                plan = plan_export(session, viewer, parse_export_request(params), settings)
            except (ExportError, AccessDenied) as error:
                raise CommandError(str(error)) from error
        output = Path(args.output)
        if not output.parent.is_dir():
            raise CommandError(f"no such folder: {output.parent}")
        rows = write_export_file(factory, plan, output, user_id=user.id if user else None, via="cli")
    finally:
        engine.dispose()
    print(
        f"{output}: {rows} rows ({plan.shape.value}, {plan.format.value}, {len(plan.site_ids)} sites, "
        f"{plan.meta.start} to {plan.meta.end})"
    )
    return EXIT_OK


def register(commands: Commands) -> None:
    export = commands.add_parser("export", help="export readings as CSV, Excel or Green Button XML")
    scope = export.add_mutually_exclusive_group(required=True)
    scope.add_argument("--portfolio", metavar="ID", help="a portfolio group id, or 'all' for all sites")
    scope.add_argument("--site", metavar="ID", help="one site id")
    export.add_argument("--from", dest="start", required=True, metavar="DATE", help="first local day, e.g. 2024-01-01")
    export.add_argument("--to", dest="end", required=True, metavar="DATE", help="last local day, inclusive")
    export.add_argument("--shape", required=True, choices=["intervals", "daily", "portfolio"])
    export.add_argument("--format", required=True, choices=["csv", "xlsx", "espi"])
    export.add_argument("--fuel", default="both", choices=["power", "gas", "both"])
    export.add_argument("--as", dest="as_email", metavar="EMAIL", help="apply this user's access policy")
    export.add_argument("-o", "--output", required=True, metavar="FILE", help="file to write (only once complete)")
    export.set_defaults(handler=cmd_export)
