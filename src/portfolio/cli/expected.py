"""``portfolio fit-models``: the expected-consumption models and series (batch job)."""

from __future__ import annotations

import argparse
import sys

from portfolio.cli.common import EXIT_FAILED, EXIT_OK, Commands, open_engine, print_json
from portfolio.config import Settings
from portfolio.db import make_session_factory


def cmd_fit_models(args: argparse.Namespace, settings: Settings) -> int:
    from portfolio.services.expected import fit_due_models
    from portfolio.services.expected_series import refresh_expected_series

    engine = open_engine(settings, write=True)
    try:
        factory = make_session_factory(engine)
        report = fit_due_models(factory, site_ids=args.site or None, force=args.force, store_predictions=False)
        expected = refresh_expected_series(factory)  # every site's stored predictions (refitted: whole), scope sums
    finally:
        engine.dispose()
    if args.json:
        print_json({**report.as_json(), "expected_series": expected.as_json()})
    else:
        print(
            f"models: {len(report.fitted)} fitted, {len(report.insufficient)} with too little data, "
            f"{len(report.failed)} failed, {len(report.skipped)} not due"
        )
        print(
            f"expected consumption: stored for {expected.sites_modelled} sites ({expected.site_rows} rows, "
            f"{expected.sites_whole} recomputed whole); {expected.scopes} scope sums of large portfolios ({expected.rows}"
            f" rows), {expected.removed} dropped; {expected.estimate_rows} site-days of missing intervals estimated;"
            f" {len(expected.errors)} failed"
        )
        for site_id, error in sorted(report.failed.items()):
            print(f"  site {site_id}: {error}", file=sys.stderr)
        for series_error in expected.errors:
            print(f"  expected series: {series_error}", file=sys.stderr)
    return EXIT_FAILED if report.failed or expected.errors else EXIT_OK


def register(commands: Commands) -> None:
    fit = commands.add_parser(
        "fit-models",
        help="fit the expected-consumption models that are due and refresh the "
        "expected series of large portfolios (batch job)",
    )
    fit.add_argument("--site", type=int, action="append", metavar="ID", help="only this site (repeatable)")
    fit.add_argument("--force", action="store_true", help="refit even models that are not due")
    fit.add_argument("--json", action="store_true", help="print a JSON summary")
    fit.set_defaults(handler=cmd_fit_models)
