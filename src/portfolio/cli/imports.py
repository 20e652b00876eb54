"""``portfolio import``: meter and weather files, one at a time, one bad file never stopping the others."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from portfolio.cli.common import EXIT_FAILED, EXIT_OK, Commands, open_engine, print_json
from portfolio.config import Settings
from portfolio.db import make_session_factory
from portfolio.ingest.records import ImportFormatError, ImportOptions
from portfolio.services.imports import ImportReport, describe_import_error, import_file


def _describe(entry: dict[str, str | None]) -> str:
    where = f" ({entry['where']})" if entry["where"] else ""
    return f"{entry['file']}{where}: {entry['error']}"


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
    engine = open_engine(settings, write=True)
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
        print_json(report.as_json())
    elif len(args.files) > 1:
        print(
            f"{report.files} of {len(args.files)} files imported, {report.readings} readings, {report.weather} weather rows"
        )
    return EXIT_FAILED if report.errors else EXIT_OK


def register(commands: Commands) -> None:
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
