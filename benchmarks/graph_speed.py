"""Time the consumption graph callback for a 1,000-site portfolio with a year of half-hourly readings.

The portfolio is built from the real Low Carbon London profiles shipped in ``benchmarks/data/lcl`` (31
households x 17,520 half hours of 2013): site n takes household n % 31, rotated by whole days and scaled
per site, keeping the source's own gaps, with 0.5% of readings flagged estimated; 17.5M readings. They
go in through the loader's path (``store_readings`` + ``refresh_daily_usage``), then one broker's group of
all 1,000 sites is created, which builds its portfolio series like any group edit.

For the year (daily), month (hourly) and week (half-hourly) views, a fresh process (so the RSS is the
server's, not the builder's) runs :func:`portfolio.services.graphs.make_graph` + ``plotly.io.to_json`` 30
times each with nothing kept (``computed_results`` emptied before each: the first request after new data) and
reports the median and p95 (``graph_p95_ms``); then 30 times more reading what the first kept
(``graph_kept_p95_ms``, what every later request and the daily run's readied views cost); then the Graphs page's
own path, :func:`portfolio.services.graphs_kept.view_graph`, whose first run draws and keeps the whole graph and the
rest read it (``graph_page_p95_ms``: a repeat of a view within the half hour). Beside it, DuckDB computes the same year series straight
from the raw readings (Parquet written during the build) for comparison.

Run: ``.venv/bin/python benchmarks/graph_speed.py`` (builds ~3 min per engine; the SQLite file is reused).
Target: p95 < 300 ms for every view on both engines, server RSS < 1 GB.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from memory import peak_rss_mb

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORK = HERE / "work"
LCL = HERE / "data" / "lcl" / "lcl_halfhourly_2013_31households.csv.gz"
WEATHER = HERE / "data" / "lcl" / "uk-tempC-sample-1_2.csv.gz"
SITES = 1_000
ORGANISATIONS = 20
YEAR_START = 1_356_998_400  # 2013-01-01 00:00 UTC
HALF_HOURS = 17_520
END = dt.date(2013, 12, 31)
VIEWS = {"year": 365, "month": 30, "week": 7}
RUNS = 30
BROKER = "bench-broker@example.com"
MERGE_AT_TOP_LEVEL = True


def _profiles() -> np.ndarray:
    """The 31 LCL households as a (31, 17520) array of kWh per half hour (NaN = missing in the source)."""
    import pandas as pd

    table = pd.read_csv(LCL, compression="gzip", skipinitialspace=True, na_values=["Null", ""])
    table.columns = ["household", "timestamp", "energy_kwh"]
    table["energy_kwh"] = pd.to_numeric(table["energy_kwh"], errors="coerce")
    ts = pd.to_datetime(table["timestamp"]).to_numpy("datetime64[s]").astype("int64")
    slot = (ts - YEAR_START) // 1800
    keep = (slot >= 0) & (slot < HALF_HOURS)
    households = sorted(table["household"].unique())
    index = {h: n for n, h in enumerate(households)}
    grid = np.full((len(households), HALF_HOURS), np.nan)
    grid[table["household"].map(index).to_numpy()[keep], slot[keep]] = table["energy_kwh"].to_numpy()[keep]
    return grid


def _site_frames(profiles: np.ndarray, shift_s: int = 0):
    """Yield (site number, readings frame) for every site: household profile rotated, scaled, gaps kept.

    ``shift_s`` moves the whole year by that many seconds (whole days: the page-speed benchmark ends it yesterday).
    """
    import pandas as pd

    rng = np.random.default_rng(7)
    starts = YEAR_START + shift_s + 1800 * np.arange(HALF_HOURS, dtype=np.int64)
    for n in range(SITES):
        energy = np.roll(profiles[n % len(profiles)], 48 * (n // len(profiles))) * rng.uniform(5, 60)
        present = ~np.isnan(energy)
        count = int(present.sum())
        yield (
            n,
            pd.DataFrame(
                {
                    "start_ts": starts[present],
                    "interval_seconds": np.full(count, 1800, dtype=np.int64),
                    "energy_kwh": energy[present],
                    "estimated": rng.random(count) < 0.005,
                }
            ),
        )


def _build(engine: Any, parquet_dir: Path | None, shift_s: int = 0) -> float:
    """Fill an empty migrated database (skipped when already full); returns seconds taken.

    ``shift_s``: readings and temperatures moved by that many seconds (0: the source's 2013).
    """
    import pandas as pd
    from sqlalchemy import func, select
    from sqlalchemy.orm import Session

    from portfolio.access import viewer_for
    from portfolio.ingest.loader import refresh_daily_usage, store_readings, store_weather
    from portfolio.models import Fuel, IdentifierKind, Meter, MeterType, Organisation, Role, Site, WeatherLocation
    from portfolio.schema import upgrade
    from portfolio.services.accounts import create_user, find_user
    from portfolio.services.groups import create_group

    upgrade(engine)
    began = time.perf_counter()
    with Session(engine) as session:
        if session.scalar(select(func.count()).select_from(Site)) == SITES:
            return 0.0
    profiles = _profiles()
    with Session(engine) as session:
        organisations = [
            Organisation(name=f"Bench org {n}", account_number=f"GRAPH-{n:03d}") for n in range(ORGANISATIONS)
        ]
        locations = [WeatherLocation(name="london"), WeatherLocation(name="bedford")]
        session.add_all([*organisations, *locations])
        session.flush()
        weather = pd.read_csv(WEATHER, compression="gzip")
        hour_ts = pd.to_datetime(weather["dt"]).to_numpy("datetime64[s]").astype("int64")
        for offset, location in enumerate(locations):
            store_weather(
                session,
                location.name,
                pd.DataFrame({"hour_ts": hour_ts + shift_s, "air_temperature_c": weather["tempC"] - offset}),
            )
        sites = []
        for n in range(SITES):
            site = Site(
                organisation_id=organisations[n % ORGANISATIONS].id,
                name=f"Bench site {n:04d}",
                fuel=Fuel.POWER,
                meter_type=MeterType.HH,
                time_zone="Europe/London",
                weather_location_id=locations[n % 2].id,
            )
            site.meters.append(Meter(identifier=f"GRAPH-{n:05d}", kind=IdentifierKind.OTHER))
            sites.append(site)
        session.add_all(sites)
        create_user(session, BROKER, Role.BROKER.value, "bench-password-1", linked_organisations=organisations)
        session.commit()
        site_ids = [s.id for s in sites]
    chunk: list[Any] = []
    session = Session(engine)
    for n, frame in _site_frames(profiles, shift_s):
        store_readings(session, site_ids[n], frame, None)
        refresh_daily_usage(
            session,
            site_ids[n],
            "Europe/London",
            int(frame["start_ts"].iloc[0]),
            int(frame["start_ts"].iloc[-1]) + 1800,
            incoming=frame,
        )
        if parquet_dir is not None:
            chunk.append(frame.assign(site_id=site_ids[n]))
        if n % 100 == 99:
            session.commit()
            if chunk:
                _write_parquet(parquet_dir, n // 100, chunk)  # type: ignore[arg-type]
                chunk = []
    session.commit()
    from portfolio.services.series import rebuild_all

    rebuild_all(session)  # org and "all" scopes: the imports above bypassed load_parsed on purpose (speed)
    viewer = viewer_for(session, find_user(session, BROKER))  # type: ignore[arg-type]
    create_group(session, viewer, "Whole estate", site_ids)
    session.commit()
    session.close()
    return time.perf_counter() - began


def _write_parquet(folder: Path, number: int, frames: list[Any]) -> None:
    import duckdb
    import pandas as pd

    folder.mkdir(parents=True, exist_ok=True)
    readings = pd.concat(frames, ignore_index=True)  # noqa: F841 - read by DuckDB by name
    duckdb.sql(
        f"COPY (SELECT site_id, start_ts, energy_kwh, estimated FROM readings) TO '{folder / f'part-{number:02d}.parquet'}' (FORMAT PARQUET)"
    )


def _duckdb_year_ms(folder: Path) -> float:
    """The year view's daily series (local days, sites reporting) straight from the raw readings.

    Local days come from the two UK clock changes of the year (a per-row time-zone conversion would
    cost DuckDB ~10x more), so the answer is the same daily series the graph shows.
    """
    import duckdb
    import pandas as pd

    changes = pd.DatetimeIndex(["2013-03-31 01:00", "2013-10-27 01:00"]).as_unit("s").asi8
    connection = duckdb.connect()
    query = (
        "SELECT (start_ts + CASE WHEN start_ts >= ? AND start_ts < ? THEN 3600 ELSE 0 END) // 86400 AS day,"
        " SUM(energy_kwh), COUNT(DISTINCT site_id), SUM(CAST(estimated AS INTEGER)) FROM read_parquet(?)"
        " WHERE start_ts >= ? AND start_ts < ? GROUP BY day ORDER BY day"
    )
    args = [int(changes[0]), int(changes[1]), str(folder / "*.parquet"), YEAR_START, YEAR_START + HALF_HOURS * 1800]
    timings = []
    for _ in range(12):
        began = time.perf_counter()
        rows = connection.execute(query, args).fetchall()
        timings.append((time.perf_counter() - began) * 1000)
        assert len(rows) == 365
    return float(np.median(timings[2:]))


def measure(database_url: str) -> dict[str, Any]:
    """In this (fresh) process: time the graph callback per view; report median, p95 and peak RSS."""

    import plotly.io as pio
    from sqlalchemy import delete, select
    from sqlalchemy.orm import Session

    from portfolio.access import viewer_for
    from portfolio.db import make_engine
    from portfolio.models import ComputedResult, PortfolioGroup
    from portfolio.services.accounts import find_user
    from portfolio.services.graphs import GraphRequest, make_graph
    from portfolio.services.graphs_kept import view_graph

    engine = make_engine(database_url)
    with Session(engine) as session:
        group = str(session.scalar(select(PortfolioGroup.id)))
    now = dt.datetime(2014, 1, 1, 12, tzinfo=dt.UTC)
    medians, p95s, points = {}, {}, {}
    kept_medians, kept_p95s, page_medians, page_p95s = {}, {}, {}, {}
    for view, days in VIEWS.items():
        request = GraphRequest(group, None, END - dt.timedelta(days=days - 1), END, "power")
        timings, kept = [], []
        for run in range(2 * RUNS):  # computed (nothing kept: the first request after new data), then kept
            if run < RUNS:
                with Session(engine) as session:
                    session.execute(delete(ComputedResult))
                    session.commit()
            began = time.perf_counter()
            with Session(engine) as session:
                viewer = viewer_for(session, find_user(session, BROKER))  # type: ignore[arg-type]
                result = make_graph(session, viewer, request, now=now)
                payload = pio.to_json(result.figure)
            (timings if run < RUNS else kept).append((time.perf_counter() - began) * 1000)
        page = []
        for _ in range(RUNS):  # the Graphs page's path: the whole drawn graph kept (the first run draws and keeps it)
            began = time.perf_counter()
            with Session(engine) as session:
                viewer = viewer_for(session, find_user(session, BROKER))  # type: ignore[arg-type]
                payload = pio.to_json(view_graph(session, viewer, request, now=now).figure, validate=False)
            page.append((time.perf_counter() - began) * 1000)
        page_medians[view] = round(float(np.median(page[1:])), 1)
        page_p95s[view] = round(float(np.percentile(page[1:], 95)), 1)
        medians[view] = round(float(np.median(timings[2:])), 1)
        p95s[view] = round(float(np.percentile(timings[2:], 95)), 1)
        kept_medians[view] = round(float(np.median(kept)), 1)
        kept_p95s[view] = round(float(np.percentile(kept, 95)), 1)
        drawn = len(result.table) if result.table is not None else len(result.figure.data[0].x)
        points[view] = f"{result.resolution}: {drawn} buckets, {len(payload) // 1024} KiB"
    engine.dispose()
    rss_mb = peak_rss_mb()
    return {
        "median": medians,
        "p95": p95s,
        "kept_median": kept_medians,
        "kept_p95": kept_p95s,
        "page_median": page_medians,
        "page_p95": page_p95s,
        "points": points,
        "rss_mb": round(rss_mb, 1),
    }


def _measure_in_subprocess(database_url: str) -> dict[str, Any]:
    output = subprocess.run(
        [sys.executable, __file__, "--measure", database_url], check=True, capture_output=True, text=True, cwd=ROOT
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def run() -> dict[str, Any]:
    sys.path.insert(0, str(ROOT))
    from sqlalchemy import text
    from tests.pg_server import PostgresServer

    from portfolio.db import make_engine

    WORK.mkdir(exist_ok=True)
    parquet = WORK / "graph_speed_parquet"
    results: dict[str, dict[str, Any]] = {}
    build: dict[str, float] = {}
    url = f"sqlite:///{WORK / 'graph_speed.db'}"
    engine = make_engine(url)
    build["sqlite"] = round(_build(engine, parquet), 1)
    engine.dispose()
    results["sqlite"] = _measure_in_subprocess(url)

    server = PostgresServer.start()
    try:
        admin = make_engine(server.admin_url).execution_options(isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text("CREATE DATABASE graph_speed"))
        admin.dispose()
        engine = make_engine(server.url("graph_speed"))
        build["postgresql"] = round(_build(engine, None), 1)
        with engine.connect() as connection:
            connection.execute(text("ANALYZE"))
            connection.commit()
        engine.dispose()
        results["postgresql"] = _measure_in_subprocess(server.url("graph_speed"))
    finally:
        server.stop()
    return {
        "graph_p95_ms": {engine_name: r["p95"] for engine_name, r in results.items()},
        "graph_median_ms": {engine_name: r["median"] for engine_name, r in results.items()},
        "graph_kept_p95_ms": {engine_name: r["kept_p95"] for engine_name, r in results.items()},
        "graph_kept_median_ms": {engine_name: r["kept_median"] for engine_name, r in results.items()},
        "graph_page_p95_ms": {engine_name: r["page_p95"] for engine_name, r in results.items()},
        "graph_page_median_ms": {engine_name: r["page_median"] for engine_name, r in results.items()},
        "graph_rss_mb": max(r["rss_mb"] for r in results.values()),
        "graph_points": results["sqlite"]["points"],
        "graph_build_s": build,
        "duckdb_year_ms": round(_duckdb_year_ms(parquet), 1),
        "graph_shape": f"{SITES} sites x {HALF_HOURS} half hours (LCL profiles), group of all sites",
    }


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    if len(sys.argv) == 3 and sys.argv[1] == "--measure":
        print(json.dumps(measure(sys.argv[2])))
    else:
        print(json.dumps(run(), indent=2))
