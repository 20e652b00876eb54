"""``portfolio third-parties``: Green Button Connect My Data applications."""

from __future__ import annotations

import argparse

from portfolio.cli.common import EXIT_OK, CommandError, Commands, open_engine, print_json
from portfolio.config import Settings
from portfolio.db import make_session_factory


def cmd_third_parties_add(args: argparse.Namespace, settings: Settings) -> int:
    """Register an approved third-party application; print its credentials (the secret is shown only here)."""
    from portfolio.services.third_parties import ThirdPartyError, register_application

    engine = open_engine(settings, write=True)
    try:
        session = make_session_factory(engine)()
        try:
            registered = register_application(
                session,
                args.name,
                args.redirect_uri,
                notify_uri=args.notify_uri,
                description=args.description,
                website=args.website,
                approved=True,
            )
        except ThirdPartyError as error:
            raise CommandError(str(error)) from error
        finally:
            session.close()
    finally:
        engine.dispose()
    if args.json:
        print_json({"client_id": registered.client_id, "client_secret": registered.client_secret})
    else:
        print(f"registered {args.name}: client_id {registered.client_id}")
        print(f"client secret (shown once): {registered.client_secret}")
    return EXIT_OK


def register(commands: Commands) -> None:
    parties = commands.add_parser("third-parties", help="Green Button Connect My Data applications")
    party_commands = parties.add_subparsers(dest="third_parties_command", required=True, metavar="COMMAND")
    party_add = party_commands.add_parser("add", help="register an approved application and print its credentials")
    party_add.add_argument("name")
    party_add.add_argument("--redirect-uri", action="append", required=True, metavar="URI", help="repeatable")
    party_add.add_argument("--notify-uri", metavar="URI", help="where BatchList notifications go")
    party_add.add_argument("--description")
    party_add.add_argument("--website")
    party_add.add_argument("--json", action="store_true", help='print {"client_id": ..., "client_secret": ...}')
    party_add.set_defaults(handler=cmd_third_parties_add)
