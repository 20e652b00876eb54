"""``portfolio sites``: list the sites a user (default: the operator) may see."""

from __future__ import annotations

import argparse
from typing import Any

from portfolio.cli.common import EXIT_OK, CommandError, Commands, open_engine, print_json
from portfolio.config import Settings
from portfolio.db import make_session_factory
from portfolio.models import Role


def _iso_utc(value: Any) -> str | None:
    if value is None or value != value:  # None, NaT
        return None
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _plain(value: Any) -> Any:
    """numpy scalars and NaN to JSON-friendly Python values."""
    if value is None or (isinstance(value, float) and value != value):
        return None
    return value.item() if hasattr(value, "item") else value


def cmd_sites(args: argparse.Namespace, settings: Settings) -> int:
    from portfolio.access import Viewer, viewer_for
    from portfolio.queries.sites import load_site_summaries
    from portfolio.services.accounts import find_user

    engine = open_engine(settings, write=False)
    try:
        with make_session_factory(engine)() as session:
            if args.as_email:
                user = find_user(session, args.as_email)
                if user is None:
                    raise CommandError(f"no user with email {args.as_email!r}")
                viewer = viewer_for(session, user)
            else:
                viewer = Viewer(user_id=0, email="cli", role=Role.ADMIN, organisation_ids=None)
            frame = load_site_summaries(session, viewer)
    finally:
        engine.dispose()
    sites = [
        {
            "id": _plain(row["id"]),
            "name": _plain(row["name"]),
            "organisation": _plain(row["organisation"]),
            "meter_identifier": _plain(row["meter_identifier"]),
            "fuel": _plain(row["fuel"]),
            "meter_type": _plain(row["meter_type"]),
            "postcode": _plain(row["postcode"]),
            "time_zone": _plain(row["time_zone"]),
            "first_reading": _iso_utc(row["first_reading"]),
            "last_reading": _iso_utc(row["last_reading"]),
        }
        for row in frame.to_dict("records")
    ]
    if args.json:
        print_json(sites, indent=2)
        return EXIT_OK
    print(
        _table(
            sites,
            ["id", "name", "organisation", "fuel", "meter_type", "meter_identifier", "first_reading", "last_reading"],
        )
    )
    return EXIT_OK


def _table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    cells = [[("" if row[c] is None else str(row[c])) for c in columns] for row in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=False))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=False)) for r in cells]
    if not rows:
        lines.append("(no sites)")
    return "\n".join(line.rstrip() for line in lines)


def register(commands: Commands) -> None:
    sites = commands.add_parser("sites", help="list sites")
    sites.add_argument("--json", action="store_true", help="print a JSON array")
    sites.add_argument("--as", dest="as_email", metavar="EMAIL", help="apply this user's access policy")
    sites.set_defaults(handler=cmd_sites)
