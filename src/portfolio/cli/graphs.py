"""``portfolio warm-graphs``: ready the big portfolios' default graph views (the daily run's "graphs" step);
``portfolio keep-graphs``: keep the default graphs people open first, for this half hour or the next."""

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


def cmd_keep_graphs(args: argparse.Namespace, settings: Settings) -> int:
    from portfolio.services.graphs_warm import keep_default_graphs, keep_next_half_hour_graphs

    engine = open_engine(settings, write=True)
    try:
        factory = make_session_factory(engine)
        report = keep_next_half_hour_graphs(factory) if args.next_half_hour else keep_default_graphs(factory)
    finally:
        engine.dispose()
    if report is None:
        message = "a daily run is writing: it keeps its own graphs; nothing kept"
        print_json({"kept": False, "reason": message}) if args.json else print(f"graphs: {message}")
        return EXIT_OK
    if args.json:
        print_json({"kept": True, **{k: v for k, v in report.as_json().items() if k != "pruned"}})  # prunes nothing
    else:
        print(f"graphs: {report.views} default views of {report.portfolios} portfolios kept in {report.seconds:.1f} s")
    return EXIT_OK


def register(commands: Commands) -> None:
    warm = commands.add_parser(
        "warm-graphs",
        help="compute and keep the coverage and expected-consumption figures of the default Graphs views of "
        "large portfolios (the daily run does this after refreshing predictions)",
    )
    warm.add_argument("--json", action="store_true", help="print a JSON summary")
    warm.set_defaults(handler=cmd_warm_graphs)
    keep = commands.add_parser(
        "keep-graphs",
        help="draw and keep the default Graphs views people open first (big portfolios, then recent users), so "
        "their next looks read them",
    )
    keep.add_argument(
        "--next-half-hour",
        action="store_true",
        help="for the half hour after this one (run a minute before it, e.g. from cron at 29 and 59 past)",
    )
    keep.add_argument("--json", action="store_true", help="print a JSON summary")
    keep.set_defaults(handler=cmd_keep_graphs)
