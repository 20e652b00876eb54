"""``portfolio users``: add accounts, set passwords, (de)activate, end sessions."""

from __future__ import annotations

import argparse
import getpass
import secrets
import sys

from portfolio.cli.common import EXIT_OK, CommandError, Commands, open_engine
from portfolio.config import Settings
from portfolio.db import make_session_factory, transaction
from portfolio.models import Organisation, Role
from portfolio.queries.sites import load_organisation_by_account


def _read_password(args: argparse.Namespace) -> tuple[str, bool]:
    """Return (password, generated?): stdin when asked, a prompt on a terminal, else a random one."""
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n"), False
    if sys.stdin.isatty():
        first = getpass.getpass("Password: ")
        if first != getpass.getpass("Repeat password: "):
            raise CommandError("passwords do not match")
        return first, False
    return secrets.token_urlsafe(12), True


def cmd_users_add(args: argparse.Namespace, settings: Settings) -> int:
    from portfolio.services.accounts import UserError, create_user

    role = Role(args.role)
    accounts: list[str] = args.org or []
    if role is Role.CUSTOMER and len(accounts) != 1:
        raise CommandError("a customer belongs to exactly one organisation: give one --org ACCOUNT")
    if role in (Role.BROKER, Role.ACCOUNT_MANAGER) and not accounts:
        raise CommandError(f"a {role.value} needs at least one --org ACCOUNT")
    if role is Role.ADMIN and accounts:
        raise CommandError("admins see every organisation: leave out --org")
    password, generated = _read_password(args)
    engine = open_engine(settings, write=True)
    try:
        with transaction(make_session_factory(engine)) as session:
            organisations: list[Organisation] = []
            for account in accounts:
                organisation = load_organisation_by_account(session, account)
                if organisation is None:
                    raise CommandError(f"no organisation with account number {account!r}")
                organisations.append(organisation)
            try:
                user = create_user(
                    session,
                    args.email,
                    role,
                    password,
                    organisation=organisations[0] if role is Role.CUSTOMER else None,
                    linked_organisations=organisations if role in (Role.BROKER, Role.ACCOUNT_MANAGER) else (),
                )
            except UserError as error:
                raise CommandError(str(error)) from error
            email = user.email
    finally:
        engine.dispose()
    print(f"added {role.value} {email}" + (f" ({', '.join(accounts)})" if accounts else ""))
    if generated:
        print(f"generated password (shown once): {password}")
    return EXIT_OK


def cmd_users_account(args: argparse.Namespace, settings: Settings) -> int:
    """set-password, deactivate, activate and end-sessions: each ends the user's sessions where it should."""
    from portfolio.services.accounts import UserError, change_password, end_sessions, find_user, set_active

    password, generated = _read_password(args) if args.users_command == "set-password" else ("", False)
    engine = open_engine(settings, write=True)
    try:
        with transaction(make_session_factory(engine)) as session:
            user = find_user(session, args.email)
            if user is None:
                raise CommandError(f"no user with email {args.email!r}")
            try:
                if args.users_command == "set-password":
                    ended = change_password(session, user, password)
                elif args.users_command in ("deactivate", "activate"):
                    ended = set_active(session, user, args.users_command == "activate")
                else:
                    ended = end_sessions(session, user)
            except UserError as error:
                raise CommandError(str(error)) from error
            email = user.email
    finally:
        engine.dispose()
    print(f"{args.users_command} {email}: {ended} session(s) ended")
    if generated:
        print(f"generated password (shown once): {password}")
    return EXIT_OK


def register(commands: Commands) -> None:
    users = commands.add_parser("users", help="manage user accounts")
    user_commands = users.add_subparsers(dest="users_command", required=True, metavar="COMMAND")
    add = user_commands.add_parser("add", help="add a user")
    add.add_argument("email")
    add.add_argument("--role", required=True, choices=[r.value for r in Role])
    add.add_argument(
        "--org",
        action="append",
        metavar="ACCOUNT",
        help="organisation account number (repeat for brokers and account managers)",
    )
    add.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    add.set_defaults(handler=cmd_users_add)
    for name, description in (
        ("set-password", "set a new password (ends all the user's sessions)"),
        ("deactivate", "deactivate an account (ends all its sessions)"),
        ("activate", "activate an account again"),
        ("end-sessions", "sign the user out of every browser"),
    ):
        account = user_commands.add_parser(name, help=description)
        account.add_argument("email")
        if name == "set-password":
            account.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
        account.set_defaults(handler=cmd_users_account)
