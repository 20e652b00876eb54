"""Measure the retention purge on 1,000 HH sites x one year (17.52M readings) on SQLite and PostgreSQL.

The world is the export benchmark's (``export_db_speed.build_database``: the real loader, so ``daily_usage`` and
``portfolio_series`` are filled too), built once per engine. Three purges run in order on it, each through
:func:`portfolio.services.retention.purge_expired` with the default batch size:

1. ``one_day``: the cutoff one day into the year, what the daily run deletes each day (48,000 readings);
2. ``year``: the cutoff after the year's last day, the other 364 days of everything (a first purge after
   deployment, or a retention period shortened);
3. ``again``: the same cutoff again, which finds nothing (the daily run's idempotent re-run).

Besides rows/s, ``longest_batch_s`` is the longest time between two commits: how long the purge holds its write
transaction open, which is what keeps the web responsive during a large purge.

Run: ``.venv/bin/python benchmarks/retention_speed.py [sites]`` or through ``benchmarks/run.py retention_speed``.
"""

from __future__ import annotations

import datetime as dt
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from export_db_speed import DAYS, SITES, WORK, build_database

MERGE_AT_TOP_LEVEL = False
KEEP_DAYS = 1827
FIRST_DAY = dt.date(2024, 1, 1)


def _ensure_path() -> None:
    root = Path(__file__).resolve().parent.parent
    for folder in (str(root), str(root / "src")):
        if folder not in sys.path:
            sys.path.insert(0, folder)


def _sqlite_world(sites: int) -> str:
    """A fresh copy of a once-built SQLite world (the purge destroys what it measures)."""
    pristine = WORK / f"retention_{sites}x1y.db"
    done = pristine.with_suffix(".done")
    if not done.exists():
        WORK.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{pristine}{suffix}").unlink(missing_ok=True)
        build_database(f"sqlite:///{pristine}", sites)
        done.touch()
    copy = WORK / f"retention_{sites}x1y.run.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{copy}{suffix}").unlink(missing_ok=True)
    shutil.copy(pristine, copy)
    return f"sqlite:///{copy}"


def measure(database_url: str) -> dict[str, Any]:
    """Run the three purges on ``database_url``; return their figures."""
    _ensure_path()
    from portfolio.db import make_engine, make_session_factory
    from portfolio.services import retention

    longest = [0.0]
    last = [time.perf_counter()]
    flush = retention._Batches.flush  # noqa: SLF001 - timed between commits, the figure that matters here

    def timed_flush(self: Any) -> None:
        flush(self)
        now = time.perf_counter()
        longest[0] = max(longest[0], now - last[0])
        last[0] = now

    retention._Batches.flush = timed_flush  # type: ignore[method-assign]  # noqa: SLF001
    engine = make_engine(database_url)
    factory = make_session_factory(engine)
    figures: dict[str, Any] = {}
    for name, cutoff_day in (
        ("one_day", FIRST_DAY + dt.timedelta(days=1)),
        ("year", FIRST_DAY + dt.timedelta(days=DAYS)),
        ("again", FIRST_DAY + dt.timedelta(days=DAYS)),
    ):
        today = cutoff_day + dt.timedelta(days=KEEP_DAYS)
        began = time.perf_counter()
        plan = retention.plan_retention(factory, today, KEEP_DAYS)
        dry_run_s = time.perf_counter() - began
        longest[0], last[0] = 0.0, time.perf_counter()
        began = time.perf_counter()
        report = retention.purge_expired(factory, today, KEEP_DAYS)
        seconds = time.perf_counter() - began
        assert report.counts == plan.counts, (report.counts, plan.counts)
        figures[name] = {
            "cutoff_day": cutoff_day.isoformat(),
            "rows": report.total,
            "readings": report.counts["readings"],
            "counts": report.counts,
            "seconds": round(seconds, 2),
            "rows_per_s": round(report.total / seconds) if report.total else None,
            "batches": report.batches,
            "longest_batch_s": round(longest[0], 3),
            "dry_run_s": round(dry_run_s, 2),
        }
        print(f"  {name}: {figures[name]}", file=sys.stderr, flush=True)
    engine.dispose()
    return figures


def run(sites: int = SITES) -> dict[str, Any]:
    _ensure_path()
    from sqlalchemy import text
    from tests.pg_server import PostgresServer

    from portfolio.db import make_engine

    figures: dict[str, Any] = {"sqlite": measure(_sqlite_world(sites))}
    server = PostgresServer.start()
    try:
        admin = make_engine(server.admin_url).execution_options(isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text("CREATE DATABASE retention_speed"))
        admin.dispose()
        url = server.url("retention_speed")
        build_database(url, sites)
        engine = make_engine(url).execution_options(isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            connection.execute(text("VACUUM ANALYZE"))
        engine.dispose()
        figures["postgresql"] = measure(url)
    finally:
        server.stop()
    return {
        "what": "portfolio.services.retention.purge_expired, default batch, on the export benchmark's world",
        "sites": sites,
        "days": DAYS,
        "batch_rows": 50_000,
        "engines": figures,
        "measured_on": dt.date.today().isoformat(),
    }


if __name__ == "__main__":
    import json

    print(json.dumps(run(int(sys.argv[1]) if len(sys.argv) > 1 else SITES), indent=2))
