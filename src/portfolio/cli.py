"""The ``portfolio`` command: schema, imports, demo data, users, site lists and the web server.

Every command reads its settings through :func:`portfolio.config.load_settings` and imports the heavy modules
(parsers, demo, web app) only when it runs, so ``portfolio --help`` stays instant.
"""

from __future__ import annotations

import argparse
import getpass
import json
import secrets
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy import Engine

from portfolio.config import Settings, load_settings
from portfolio.db import make_engine, make_session_factory, transaction
from portfolio.ingest.records import ImportFormatError, ImportOptions
from portfolio.models import Organisation, Role, RunStatus
from portfolio.queries.sites import any_organisation, load_organisation_by_account
from portfolio.services.imports import ImportReport, describe_import_error, import_file
from portfolio.timekeeping import SECONDS_PER_DAY, UK_TIME_ZONE

EXIT_OK = 0
EXIT_FAILED = 2


class CommandError(Exception):
    """A command that cannot do what was asked; main prints the message and exits with status 2."""


def _describe(entry: dict[str, str | None]) -> str:
    where = f" ({entry['where']})" if entry["where"] else ""
    return f"{entry['file']}{where}: {entry['error']}"


def _engine(settings: Settings, *, write: bool) -> Engine:
    """An engine for the configured database; writers bring the schema up to date first."""
    engine = make_engine(settings.database_url)
    if write:
        from portfolio.schema import upgrade

        upgrade(engine)
    return engine


def cmd_init_db(args: argparse.Namespace, settings: Settings) -> int:
    from alembic.migration import MigrationContext

    engine = _engine(settings, write=True)
    try:
        with engine.connect() as connection:
            revision = MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()
    print(f"database at revision {revision}")
    return EXIT_OK


def _import_options(path: Path, args: argparse.Namespace) -> ImportOptions:
    """The parsing hints given on the command line (a profile may add more)."""
    if args.utc and args.local_time:
        raise ImportFormatError(str(path), "--utc and --local-time contradict each other")
    return ImportOptions(
        meter=args.meter,
        fuel=args.fuel,
        time_basis="utc" if args.utc else "local" if args.local_time else "auto",
        labelling=args.labelling,
        unit=args.unit,
        meter_column=args.meter_column,
    )


def cmd_import(args: argparse.Namespace, settings: Settings) -> int:
    engine = _engine(settings, write=True)
    factory = make_session_factory(engine)
    report = ImportReport()
    try:
        for name in args.files:
            path = Path(name)
            try:
                if not path.is_file():
                    raise FileNotFoundError(name)
                result = import_file(
                    factory,
                    path,
                    organisation_account=args.org,
                    options=_import_options(path, args),
                    location=args.location,
                    profile=args.profile,
                    settings=settings,
                )
            except Exception as error:  # noqa: BLE001 - one bad file must not stop the others
                entry = describe_import_error(path, error)
                report.errors.append(entry)
                print(f"import failed: {_describe(entry)}", file=sys.stderr)
                continue
            report.add(result)
            loaded = result.summary
            if not args.json:
                created = f", {loaded.sites_created} new" if loaded.sites_created else ""
                weather = f", {loaded.weather} weather rows" if loaded.weather else ""
                print(f"{path}: {loaded.readings} readings stored ({loaded.sites} sites{created}){weather}")
        if report.weather:  # new temperatures (perhaps history): the stored predictions are recomputed whole
            from portfolio.services.expected_series import refresh_expected_series

            refreshed = refresh_expected_series(factory, full=True)
            if not args.json:
                print(f"expected consumption recomputed for {refreshed.sites_modelled} sites with a model")
    finally:
        engine.dispose()
    if args.json:
        print(json.dumps(report.as_json()))
    elif len(args.files) > 1:
        print(
            f"{report.files} of {len(args.files)} files imported, {report.readings} readings, {report.weather} weather rows"
        )
    return EXIT_FAILED if report.errors else EXIT_OK


def _print_logins(settings: Settings, out: TextIO) -> None:
    from portfolio.services import demo as demo

    print(demo.format_logins(demo.demo_logins(settings)), file=out)


def cmd_load_demo(args: argparse.Namespace, settings: Settings) -> int:
    from portfolio.services import demo as demo

    engine = _engine(settings, write=True)
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
    engine = _engine(settings, write=True)
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
    engine = _engine(settings, write=True)
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


def cmd_third_parties_add(args: argparse.Namespace, settings: Settings) -> int:
    """Register an approved third-party application; print its credentials (the secret is shown only here)."""
    from portfolio.services.third_parties import ThirdPartyError, register_application

    engine = _engine(settings, write=True)
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
        print(json.dumps({"client_id": registered.client_id, "client_secret": registered.client_secret}))
    else:
        print(f"registered {args.name}: client_id {registered.client_id}")
        print(f"client secret (shown once): {registered.client_secret}")
    return EXIT_OK


def cmd_customers_import(args: argparse.Namespace, settings: Settings) -> int:
    """Import the supplier's customer list: all of it or (with every problem's line printed) none of it."""
    from portfolio.ingest.customers import CustomerListError
    from portfolio.services.customers import import_customer_list

    path = Path(args.file)
    if not path.is_file():
        raise CommandError(f"no such file: {path}")
    engine = _engine(settings, write=True)
    try:
        with make_session_factory(engine)() as session:
            try:
                report = import_customer_list(session, path.name, path.read_bytes(), settings=settings)
            except CustomerListError as error:
                if args.json:
                    print(json.dumps({"error": "refused", "problems": error.problems}))
                for problem in error.problems:
                    print(f"{path}: {problem}", file=sys.stderr)
                raise CommandError("customer list refused: nothing was changed") from error
            except ImportFormatError as error:
                raise CommandError(str(error)) from error
    finally:
        engine.dispose()
    if args.json:
        print(json.dumps(report.as_json()))
    else:
        print(
            f"{path}: {report.created} created, {report.changed} changed, {report.unchanged} unchanged; "
            f"{report.invited} invited; contact details needed: {report.contact_details_needed}; "
            f"opt-out notices: {report.notices_sent}"
        )
    return EXIT_OK


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

    engine = _engine(settings, write=False)
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
        print(json.dumps(sites, indent=2))
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


def cmd_rebuild_series(args: argparse.Namespace, settings: Settings) -> int:
    """Recompute every portfolio series from the readings (a repair; imports and group edits keep them current)."""
    from portfolio.services.series import rebuild_all

    engine = _engine(settings, write=True)
    try:
        with transaction(make_session_factory(engine)) as session:
            scopes = rebuild_all(session)
    finally:
        engine.dispose()
    print(f"rebuilt the portfolio series of {scopes} scopes")
    return EXIT_OK


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
    engine = _engine(settings, write=False)
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


def cmd_fit_models(args: argparse.Namespace, settings: Settings) -> int:
    from portfolio.services.expected import fit_due_models
    from portfolio.services.expected_series import refresh_expected_series

    engine = _engine(settings, write=True)
    try:
        factory = make_session_factory(engine)
        report = fit_due_models(factory, site_ids=args.site or None, force=args.force, store_predictions=False)
        expected = refresh_expected_series(factory)  # every site's stored predictions (refitted: whole), scope sums
    finally:
        engine.dispose()
    if args.json:
        print(json.dumps({**report.as_json(), "expected_series": expected.as_json()}))
    else:
        print(
            f"models: {len(report.fitted)} fitted, {len(report.insufficient)} with too little data, "
            f"{len(report.failed)} failed, {len(report.skipped)} not due"
        )
        print(
            f"expected consumption: stored for {expected.sites_modelled} sites ({expected.site_rows} rows, "
            f"{expected.sites_whole} recomputed whole); {expected.scopes} scope sums of large portfolios ({expected.rows}"
            f" rows), {expected.removed} dropped, {len(expected.errors)} failed"
        )
        for site_id, error in sorted(report.failed.items()):
            print(f"  site {site_id}: {error}", file=sys.stderr)
        for series_error in expected.errors:
            print(f"  expected series: {series_error}", file=sys.stderr)
    return EXIT_FAILED if report.failed or expected.errors else EXIT_OK


def _parse_every(text: str) -> float:
    """'24h', '90m', '3600s' or plain seconds, for ``daily-run --every``."""
    units = {"s": 1, "m": 60, "h": 3600, "d": SECONDS_PER_DAY}
    value = text.strip().lower()
    try:
        seconds = float(value[:-1]) * units[value[-1]] if value[-1:] in units else float(value)
    except (ValueError, KeyError):
        raise CommandError(f"--every must look like 24h, 90m or 3600s, not {text!r}") from None
    if seconds < 60:
        raise CommandError("--every must be at least a minute")
    return seconds


def _daily_run_once(args: argparse.Namespace, settings: Settings, factory: Any) -> int:
    import datetime as dt

    from portfolio.services.pipeline import PipelineBusy, run_daily

    run_date = None
    if args.date:
        try:
            run_date = dt.date.fromisoformat(args.date)
        except ValueError:
            raise CommandError(f"--date must be a date like 2026-11-26, not {args.date!r}") from None
    try:
        result = run_daily(factory, settings, run_date=run_date)
    except PipelineBusy as error:
        print(f"portfolio: {error}; not running", file=sys.stderr)
        return EXIT_FAILED
    if args.json:
        print(json.dumps(result.as_json()))
    else:
        print(f"daily run {result.run_date} (run {result.run_id}): {result.status}")
        for step in result.steps:
            counts = ", ".join(f"{k}={v}" for k, v in step.counts.items())
            print(f"  {step.name:<18} {step.duration_s:7.2f}s  {counts}")
            for step_error in step.errors:
                print(f"    error: {step_error}", file=sys.stderr)
    return EXIT_OK if result.status == RunStatus.OK else EXIT_FAILED


def cmd_daily_run(args: argparse.Namespace, settings: Settings) -> int:
    """Run the daily pipeline once, or, with --every, as a single scheduler process (never per web worker)."""
    import datetime as dt
    import time

    engine = _engine(settings, write=True)
    factory = make_session_factory(engine)
    try:
        if not args.every:
            return _daily_run_once(args, settings, factory)
        if args.date:
            raise CommandError("--date runs once: leave out --every")
        from portfolio.services.pipeline import seconds_until

        period = _parse_every(args.every)
        at = dt.time.fromisoformat(args.at) if args.at else None
        while True:
            if at is not None:
                wait = seconds_until(dt.datetime.now(dt.UTC), at)
                print(f"next daily run in {wait / 3600:.1f} h (at {args.at} {UK_TIME_ZONE})", flush=True)
                time.sleep(wait)
            _daily_run_once(args, settings, factory)
            if at is None:
                time.sleep(period)
    finally:
        engine.dispose()


def cmd_retention(args: argparse.Namespace, settings: Settings) -> int:
    """Delete (or, with --dry-run, count) readings and derived data older than PORTFOLIO_RETENTION_DAYS."""
    import datetime as dt

    from portfolio.services.retention import plan_retention, purge_expired
    from portfolio.timekeeping import local_today

    try:
        today = dt.date.fromisoformat(args.date) if args.date else local_today()
    except ValueError:
        raise CommandError(f"--date must be a date like 2026-11-26, not {args.date!r}") from None
    engine = _engine(settings, write=not args.dry_run)
    try:
        factory = make_session_factory(engine)
        run = plan_retention if args.dry_run else purge_expired
        report = run(factory, today, settings.retention_days)
    finally:
        engine.dispose()
    if args.json:
        print(json.dumps(report.as_json()))
        return EXIT_OK
    verb = "would delete" if args.dry_run else "deleted"
    print(f"retention {settings.retention_days} days: cutoff {report.cutoff.day} (UK); {verb} {report.total:,} rows")
    for table, count in report.counts.items():
        print(f"  {table:<20} {count:>12,}")
    return EXIT_OK


def cmd_aggregates_export(args: argparse.Namespace, settings: Settings) -> int:
    """Consumption across customers by region or profile class under the 15/15 rule (refused cells say why)."""
    from portfolio.access import Viewer
    from portfolio.services.aggregates import AggregateError, parse_aggregate_request, release_aggregates

    try:
        request = parse_aggregate_request(args.by, args.period, args.start, args.end)
    except AggregateError as error:
        raise CommandError(str(error)) from error
    engine = _engine(settings, write=True)
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


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    """Serve with gunicorn (worker processes x threads), each worker building its own app after the fork.

    SQLite (the default) is shared safely by several workers: WAL and a busy timeout (``portfolio.db``).
    ``--dev`` uses Flask's single-process development server instead.
    """
    from portfolio.web.app import create_app

    if args.dev:
        create_app(settings).run(host=args.host, port=args.port, debug=False)
        return EXIT_OK
    from gunicorn.app.base import BaseApplication

    class _Server(BaseApplication):
        def load_config(self) -> None:
            self.cfg.set("bind", f"{args.host}:{args.port}")
            self.cfg.set("workers", args.workers)
            self.cfg.set("threads", args.threads)
            self.cfg.set("timeout", 120)
            self.cfg.set("accesslog", "-" if args.access_log else None)

        def load(self) -> object:
            return create_app(settings).server

    _Server().run()
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="portfolio", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    init_db = commands.add_parser("init-db", help="create or upgrade the database schema")
    init_db.set_defaults(handler=cmd_init_db)

    imp = commands.add_parser("import", help="import meter or weather files (CSV, Green Button XML, gzip)")
    imp.add_argument("files", nargs="+", metavar="FILE")
    imp.add_argument("--org", metavar="ACCOUNT", help="organisation account number for meters not seen before")
    imp.add_argument("--json", action="store_true", help="print one JSON summary object")
    imp.add_argument("--meter", metavar="ID", help="meter identifier for files that do not name one")
    imp.add_argument("--fuel", choices=["power", "gas"], help="fuel for files that do not say")
    imp.add_argument("--location", metavar="NAME", help="weather location name for weather files")
    imp.add_argument(
        "--local-time", action="store_true", help="naive times are UK clock time (the default without evidence)"
    )
    imp.add_argument("--utc", action="store_true", help="naive times and days are UTC, not UK clock time")
    imp.add_argument(
        "--labelling",
        choices=["auto", "start", "end"],
        default="auto",
        help="times stamp the start or end of intervals",
    )
    imp.add_argument("--unit", metavar="UNIT", help="unit of values whose file names none (kWh, Wh, m3, therm, ...)")
    imp.add_argument("--meter-column", metavar="HEADER", help="header of the column naming the meter")
    imp.add_argument(
        "--profile",
        metavar="NAME",
        help="apply the saved profile NAME, or save these hints as NAME for files like this",
    )
    imp.set_defaults(handler=cmd_import)

    demo = commands.add_parser("load-demo", help="load the demo dataset and print its logins")
    demo.add_argument("--if-empty", action="store_true", help="do nothing if the database has organisations")
    demo.set_defaults(handler=cmd_load_demo)

    logins = commands.add_parser("demo-logins", help="print the demo logins")
    logins.set_defaults(handler=cmd_demo_logins)

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

    customer_list = commands.add_parser("customers", help="the supplier's customer list")
    customer_commands = customer_list.add_subparsers(dest="customers_command", required=True, metavar="COMMAND")
    customers_import = customer_commands.add_parser("import", help="import the customer list (CSV or XLSX)")
    customers_import.add_argument("file", metavar="FILE")
    customers_import.add_argument("--json", action="store_true", help="print a JSON summary")
    customers_import.set_defaults(handler=cmd_customers_import)

    sites = commands.add_parser("sites", help="list sites")
    sites.add_argument("--json", action="store_true", help="print a JSON array")
    sites.add_argument("--as", dest="as_email", metavar="EMAIL", help="apply this user's access policy")
    sites.set_defaults(handler=cmd_sites)

    rebuild = commands.add_parser("rebuild-series", help="recompute the portfolio graph series from the readings")
    rebuild.set_defaults(handler=cmd_rebuild_series)

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

    fit = commands.add_parser(
        "fit-models",
        help="fit the expected-consumption models that are due and refresh the "
        "expected series of large portfolios (batch job)",
    )
    fit.add_argument("--site", type=int, action="append", metavar="ID", help="only this site (repeatable)")
    fit.add_argument("--force", action="store_true", help="refit even models that are not due")
    fit.add_argument("--json", action="store_true", help="print a JSON summary")
    fit.set_defaults(handler=cmd_fit_models)

    daily = commands.add_parser(
        "daily-run", help="run the daily pipeline: inbox, roll-ups, weather, models, trackers, email"
    )
    daily.add_argument("--date", metavar="DATE", help="the run's date (default today, UK); it evaluates the day before")
    daily.add_argument("--json", action="store_true", help="print the run's result as JSON")
    daily.add_argument(
        "--every", metavar="PERIOD", help="keep running: once per PERIOD (e.g. 24h) as one scheduler process"
    )
    daily.add_argument("--at", metavar="HH:MM", help="with --every 24h: run at this local (UK) time each day")
    daily.set_defaults(handler=cmd_daily_run)

    keep = commands.add_parser("retention", help="delete readings and derived data older than the retention period")
    keep.add_argument("--dry-run", action="store_true", help="count what would go, per table; delete nothing")
    keep.add_argument("--json", action="store_true", help="print the cutoff and counts as JSON")
    keep.add_argument("--date", metavar="DATE", help="as if today (UK) were DATE")
    keep.set_defaults(handler=cmd_retention)

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

    serve = commands.add_parser("serve", help="run the web app with gunicorn (workers x threads)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8050)
    serve.add_argument("--workers", type=int, default=2, help="gunicorn worker processes (default 2)")
    serve.add_argument("--threads", type=int, default=4, help="threads per worker (default 4)")
    serve.add_argument("--access-log", action="store_true", help="log every request to stdout")
    serve.add_argument("--dev", action="store_true", help="Flask's development server (one process)")
    serve.set_defaults(handler=cmd_serve)
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
