"""``portfolio daily-run``: the daily pipeline, once or as the single scheduler process."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from portfolio.cli.common import EXIT_FAILED, EXIT_OK, CommandError, Commands, open_engine, print_json
from portfolio.config import Settings
from portfolio.db import make_session_factory
from portfolio.models import RunStatus
from portfolio.timekeeping import SECONDS_PER_DAY, UK_TIME_ZONE


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
        print_json(result.as_json())
    else:
        print(f"daily run {result.run_date} (run {result.run_id}): {result.status}")
        for step in result.steps:
            counts = ", ".join(f"{k}={v}" for k, v in step.counts.items())
            print(f"  {step.name:<18} {step.duration_s:7.2f}s  {counts}")
            for step_error in step.errors:
                print(f"    error: {step_error}", file=sys.stderr)
    return EXIT_OK if result.status == RunStatus.OK else EXIT_FAILED


def lower_priority(settings: Settings) -> int:
    """Lower this process's CPU priority by ``settings.daily_run_nice`` and return the niceness it now has.

    The daily run (imports, refits, trackers) is batch work that often shares a machine with the web workers:
    at a lower priority it takes the cores only when people browsing leave them idle, so pages keep their speed
    while it runs (issue 18's load benchmark). Where the platform has no ``os.nice`` nothing changes.

    Linux with scheduler autogroups (on by default in Debian and Ubuntu) first shares the cores between sessions,
    and a niceness only weighs against processes of the same session: a run that systemd or ``setsid`` started in a
    session of its own would still take a whole session's share beside the web's. As the
    leader of its own session (everything in it descends from the run), it lowers the session's niceness too. A run
    sharing a session with other processes (a terminal's, say) leaves the session alone: that would slow them too.
    """
    if not hasattr(os, "nice"):
        return 0
    niceness = os.nice(settings.daily_run_nice)
    if os.getsid(0) == os.getpid():
        lower_autogroup(settings.daily_run_nice)
    return niceness


def lower_autogroup(niceness: int, pid: int | str = "self") -> None:
    """Set the scheduler autogroup niceness of process ``pid``'s session (Linux's ``kernel.sched_autogroup_enabled``)
    to ``niceness`` unless it is already as low. Without autogroups (another kernel or platform), or where the session
    is not ours to change, nothing happens: the threads' own niceness is all there is."""
    autogroup = Path(f"/proc/{pid}/autogroup")
    try:
        if int(autogroup.read_text().split()[-1]) < niceness:
            autogroup.write_text(str(niceness))
    except (OSError, ValueError):
        return


def cmd_daily_run(args: argparse.Namespace, settings: Settings) -> int:
    """Run the daily pipeline once, or, with --every, as a single scheduler process (never per web worker)."""
    import datetime as dt

    lower_priority(settings)
    engine = open_engine(settings, write=True)
    factory = make_session_factory(engine)
    try:
        if not args.every:
            if args.keep_graphs:
                raise CommandError("--keep-graphs keeps graphs between runs: it needs --every")
            return _daily_run_once(args, settings, factory)
        if args.date:
            raise CommandError("--date runs once: leave out --every")
        from portfolio.services.pipeline import seconds_until

        period = _parse_every(args.every)
        at = dt.time.fromisoformat(args.at) if args.at else None
        first = True
        while True:
            wait = seconds_until(dt.datetime.now(dt.UTC), at) if at is not None else 0.0 if first else period
            first = False
            if at is not None:
                print(f"next daily run in {wait / 3600:.1f} h (at {args.at} {UK_TIME_ZONE})", flush=True)
            _wait_keeping_graphs(factory, wait, keep=args.keep_graphs)
            _daily_run_once(args, settings, factory)
    finally:
        engine.dispose()


def _wait_keeping_graphs(factory: Any, seconds: float, *, keep: bool) -> None:
    """Sleep ``seconds``; with ``keep``, wake a minute before each half hour meanwhile to keep its default graphs
    (``services/graphs_warm.keep_next_half_hour_graphs``), in this one scheduler process."""
    import datetime as dt
    import time

    from portfolio.services.graphs_warm import keep_next_half_hour_graphs, seconds_until_next_keep

    deadline = time.monotonic() + seconds
    while keep:
        until_keep = seconds_until_next_keep(dt.datetime.now(dt.UTC))
        if time.monotonic() + until_keep >= deadline:
            break
        time.sleep(until_keep)
        try:
            keep_next_half_hour_graphs(factory)
        except Exception as error:  # noqa: BLE001 - a failed keep only costs the next looks a draw; the run goes on
            print(f"portfolio: keeping the next half hour's graphs failed: {error}", file=sys.stderr, flush=True)
    time.sleep(max(deadline - time.monotonic(), 0.0))


def register(commands: Commands) -> None:
    daily = commands.add_parser(
        "daily-run", help="run the daily pipeline: inbox, roll-ups, weather, models, trackers, email"
    )
    daily.add_argument("--date", metavar="DATE", help="the run's date (default today, UK); it evaluates the day before")
    daily.add_argument("--json", action="store_true", help="print the run's result as JSON")
    daily.add_argument(
        "--every", metavar="PERIOD", help="keep running: once per PERIOD (e.g. 24h) as one scheduler process"
    )
    daily.add_argument("--at", metavar="HH:MM", help="with --every 24h: run at this local (UK) time each day")
    daily.add_argument(
        "--keep-graphs",
        action="store_true",
        help="with --every: between runs, keep the default graphs a minute before each half hour",
    )
    daily.set_defaults(handler=cmd_daily_run)
