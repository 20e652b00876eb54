"""Measure the portfolio list query at 1,000 sites x 1 year: load_list_sites + load_usage_totals + compute_site_list.

The database holds one daily roll-up row per site per day for a year (365k rows; 3% of sites never reported,
5% stopped half way) and the last 14 days of half-hourly readings per site (so the last-reading MAX seeks a
real primary-key index). The SQLite file is built once in ``benchmarks/work/`` and reused; PostgreSQL is a
throwaway server from the machine's binaries (``tests/pg_server.py``), built fresh each run.

Run: ``.venv/bin/python benchmarks/list_speed.py``. Target: list_p95_ms < 500 on both engines.
"""

from __future__ import annotations

import datetime as dt
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Engine, func, insert, select, text
from sqlalchemy.orm import Session

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORK = HERE / "work"
SITES = 1_000
DAYS = 365
READING_DAYS = 14
RUNS = 25
END = dt.date(2026, 11, 24)
START = END - dt.timedelta(days=DAYS - 1)


def _build(engine: Engine) -> None:
    """Create the schema and fill it, unless a previous run already did (the SQLite file is reused)."""
    from portfolio.models import DailyUsage, Fuel, IdentifierKind, Meter, MeterType, Organisation, Reading, Site
    from portfolio.schema import upgrade

    upgrade(engine)
    with Session(engine) as session:
        if session.scalar(select(func.count()).select_from(Site)) == SITES:
            return
        organisations = [Organisation(name=f"Org {n}", account_number=f"BENCH-{n:03d}") for n in range(20)]
        session.add_all(organisations)
        session.flush()
        rng = np.random.default_rng(11)
        sites = []
        for n in range(SITES):
            gas = n % 3 == 0
            site = Site(
                organisation_id=organisations[n % 20].id,
                name=f"Site {n:04d}",
                postcode=f"CB{n % 9} {n % 10}AB",
                time_zone="Europe/London",
                fuel=Fuel.GAS if gas else Fuel.POWER,
                meter_type=MeterType.AMR if gas else MeterType.HH,
            )
            site.meters.append(Meter(identifier=f"{1_200_000_000_000 + n * 97:013d}", kind=IdentifierKind.MPAN))
            sites.append(site)
        session.add_all(sites)
        session.flush()
        days = [START + dt.timedelta(days=d) for d in range(DAYS)]
        daily: list[dict[str, Any]] = []
        readings: list[dict[str, Any]] = []
        end_ts = int(dt.datetime.combine(END + dt.timedelta(days=1), dt.time(), dt.UTC).timestamp())
        for n, site in enumerate(sites):
            if n % 33 == 0:
                continue  # never reported
            last_day = DAYS // 2 if n % 20 == 1 else DAYS  # stopped half way
            seconds = 3600 if site.fuel is Fuel.GAS else 1800
            energy = rng.gamma(2.0, 50.0, size=last_day)
            daily += [
                {
                    "site_id": site.id,
                    "local_date": days[d],
                    "energy_kwh": float(energy[d]),
                    "intervals": 86_400 // seconds,
                    "estimated_intervals": 0,
                    "interval_seconds": seconds,
                }
                for d in range(last_day)
            ]
            if last_day == DAYS:
                first = end_ts - READING_DAYS * 86_400
                readings += [
                    {
                        "site_id": site.id,
                        "start_ts": ts,
                        "interval_seconds": seconds,
                        "energy_kwh": 1.0,
                        "estimated": False,
                    }
                    for ts in range(first, end_ts, seconds)
                ]
        session.execute(insert(DailyUsage), daily)
        for begin in range(0, len(readings), 100_000):
            session.execute(insert(Reading), readings[begin : begin + 100_000])
        session.commit()


def _measure(engine: Engine) -> float:
    """p95 [ms] of the list for all 1,000 sites over the year, each run in a fresh session."""
    from portfolio.analytics.coverage import compute_site_list
    from portfolio.models import Site
    from portfolio.queries.usage import load_list_sites, load_usage_totals

    with Session(engine) as session:
        site_ids = sorted(session.scalars(select(Site.id)))
    timings = []
    for _ in range(RUNS):
        began = time.perf_counter()
        with Session(engine) as session:
            sites = load_list_sites(session, site_ids)
            usage = load_usage_totals(session, site_ids, START, END)
            listing = compute_site_list(sites, usage, START, END)
        timings.append((time.perf_counter() - began) * 1000)
        assert len(listing) == SITES
    return float(np.percentile(timings[2:], 95))  # the first runs warm caches and the plan


MERGE_AT_TOP_LEVEL = True  # its keys are contract keys of benchmarks/results.json


def run() -> dict[str, Any]:
    sys.path.insert(0, str(ROOT))
    from tests.pg_server import PostgresServer

    from portfolio.db import make_engine

    WORK.mkdir(exist_ok=True)
    results: dict[str, float] = {}
    build_seconds: dict[str, float] = {}
    engine = make_engine(f"sqlite:///{WORK / 'list_speed.db'}")
    began = time.perf_counter()
    _build(engine)
    build_seconds["sqlite"] = round(time.perf_counter() - began, 1)
    results["sqlite"] = round(_measure(engine), 1)
    engine.dispose()

    server = PostgresServer.start()
    try:
        admin = make_engine(server.admin_url).execution_options(isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text("CREATE DATABASE list_speed"))
        admin.dispose()
        engine = make_engine(server.url("list_speed"))
        began = time.perf_counter()
        _build(engine)
        with engine.connect() as connection:
            connection.execute(text("ANALYZE"))
            connection.commit()
        build_seconds["postgresql"] = round(time.perf_counter() - began, 1)
        results["postgresql"] = round(_measure(engine), 1)
        engine.dispose()
    finally:
        server.stop()
    return {"list_p95_ms": results, "list_build_s": build_seconds, "list_shape": f"{SITES} sites x {DAYS} days"}


if __name__ == "__main__":
    print(run())
