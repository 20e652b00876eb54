"""``portfolio warm-graphs``: ready the big portfolios' default graph views (the daily run's "graphs" step)."""

from __future__ import annotations

import argparse

from portfolio.cli.common import EXIT_OK, Commands, open_engine, print_json
from portfolio.config import Settings
from portfolio.db import make_session_factory


def cmd_warm_graphs(args: argparse.Namespace, settings: Settings) -> int:
    from portfolio.services.graphs_warm import WARM_MIN_SITES, warm_graphs

    engine = open_engine(settings, write=True)
    try:
        report = warm_graphs(make_session_factory(engine))
    finally:
        engine.dispose()
    if args.json:
        print_json(report.as_json())
    else:
        print(
            f"graphs: {report.views} views of {report.portfolios} portfolios of {WARM_MIN_SITES}+ sites readied in "
            f"{report.seconds:.1f} s; {report.pruned} results of older data dropped"
        )
    return EXIT_OK


def register(commands: Commands) -> None:
    warm = commands.add_parser(
        "warm-graphs",
        help="compute and keep the coverage and expected-consumption figures of the default Graphs views of "
        "large portfolios (the daily run does this after refreshing predictions)",
    )
    warm.add_argument("--json", action="store_true", help="print a JSON summary")
    warm.set_defaults(handler=cmd_warm_graphs)
