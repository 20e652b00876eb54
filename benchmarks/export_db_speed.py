"""Measure exports end to end: database -> server-side cursor -> shape rows -> CSV bytes, on SQLite and PostgreSQL.

The world is 1,000 HH sites x 365 days (17.52M readings, 2024-01-01..2024-12-30 local days, both clock changes),
loaded through the real loader (so ``daily_usage`` is filled too) into ``benchmarks/work/export_1000x1y.db``
(reused when present) and into a throwaway PostgreSQL server (``tests.pg_server``). Each measurement runs in a
fresh subprocess that calls the same code the ``/export/download`` route and ``portfolio export`` call
(:func:`portfolio.services.exports.plan_export` then :func:`portfolio.services.exports.stream_export`), drains the bytes into a
counting sink and reports rows/s and its own peak RSS, so the memory figure is the export's alone.

The contract keys ``export_rows_per_s`` and ``export_rss_mb`` are these end-to-end figures, as
``{"sqlite": x, "postgresql": y}``; the writer-only figures of ``export_speed.py`` stay under ``export_speed``.

``sqlite_via_route`` repeats the SQLite measurement through the web app (sign in, ``GET /export/download`` on
Flask's test client, body drained as it streams), so the route's own overhead is visible too.

Run: ``.venv/bin/python benchmarks/export_db_speed.py [sites]`` or through ``benchmarks/run.py export_db_speed``.
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
import pandas as pd

from memory import peak_rss_mb

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORK = HERE / "work"
SITES = 1000
DAYS = 365
YEAR_START_TS = 1704067200  # 2024-01-01T00:00Z, local midnight in London (GMT)
START, END = dt.date(2024, 1, 1), dt.date(2024, 12, 30)
SITES_PER_TRANSACTION = 50
MERGE_AT_TOP_LEVEL = True
ACCOUNT = "BENCH-EXPORT"


def _ensure_path() -> None:
    for folder in (str(ROOT), str(ROOT / "src")):
        if folder not in sys.path:
            sys.path.insert(0, folder)


def sqlite_path(sites: int) -> Path:
    return WORK / ("export_1000x1y.db" if sites == 1000 else f"export_{sites}x1y.db")


def build_database(database_url: str, sites: int = SITES, seed: int = 11) -> int:
    """Load ``sites`` HH meters x one year through the loader, 50 sites per transaction; return readings stored."""
    _ensure_path()
    from portfolio.db import make_engine, make_session_factory, transaction
    from portfolio.ingest.loader import load_parsed
    from portfolio.ingest.records import MeterSeries, ParsedFile
    from portfolio.models import Organisation
    from portfolio.schema import upgrade

    engine = make_engine(database_url)
    upgrade(engine)
    factory = make_session_factory(engine)
    rng = np.random.default_rng(seed)
    intervals = DAYS * 48
    starts = YEAR_START_TS + np.arange(intervals, dtype="int64") * 1800
    stored = 0
    with transaction(factory) as session:
        session.add(Organisation(name="Benchmark Estates", account_number=ACCOUNT))
    for first in range(0, sites, SITES_PER_TRANSACTION):
        meters = []
        for number in range(first, min(first + SITES_PER_TRANSACTION, sites)):
            gas = number % 3 == 0
            readings = pd.DataFrame(
                {
                    "start_ts": starts,
                    "interval_seconds": np.full(intervals, 1800, dtype="int64"),
                    "energy_kwh": np.round(rng.gamma(2.0, 0.6, intervals), 3),
                    "estimated": rng.random(intervals) < 0.01,
                    "original_value": np.full(intervals, np.nan),
                    "original_unit": pd.Series([None] * intervals, dtype=object),
                }
            )
            identifier = f"{7_000_000 + number}" if gas else f"{1_200_000_000_000 + number * 97:013d}"
            meters.append(
                MeterSeries(
                    identifier=identifier,
                    identifier_kind="mprn" if gas else "mpan",
                    fuel="gas" if gas else "power",
                    readings=readings,
                    time_zone="Europe/London",
                    meter_type="hh",
                    name=f"Site {number:04d}, Unit {number % 7}",
                )
            )
        with transaction(factory) as session:
            summary = load_parsed(
                session,
                ParsedFile(path="bench", format="bench", meters=tuple(meters)),
                organisation_account=ACCOUNT,
                filename=f"bench-{first}",
                sha256=f"{first:064d}",
            )
            stored += summary.readings
        print(f"  loaded sites {first}..{first + len(meters) - 1}", file=sys.stderr, flush=True)
    engine.dispose()
    return stored


def ensure_sqlite(sites: int) -> str:
    """The SQLite world, built once and reused (a marker file says the build finished)."""
    path = sqlite_path(sites)
    done = path.with_suffix(".done")
    if not done.exists():
        WORK.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        build_database(f"sqlite:///{path}", sites)
        done.write_text("ok\n")
    return f"sqlite:///{path}"


def measure(database_url: str, shape: str = "interval", format: str = "csv") -> dict[str, Any]:
    """Export everything as the admin operator would, draining the bytes; run in a fresh process."""
    _ensure_path()
    from portfolio.access import Viewer
    from portfolio.config import load_settings
    from portfolio.db import make_engine, make_session_factory
    from portfolio.models import Role
    from portfolio.services.exports import ExportRequest, plan_export, stream_export

    settings = load_settings(environ={}, database_url=database_url, instance_path=WORK / "instance", secret_key="bench")
    engine = make_engine(database_url)
    factory = make_session_factory(engine)
    viewer = Viewer(user_id=0, email="cli", role=Role.ADMIN, organisation_ids=None)
    request = ExportRequest(
        scope="group", scope_id="all", start=START, end=END, shape=shape, format=format, fuel="both"
    )
    began = time.perf_counter()
    with factory() as session:
        plan = plan_export(session, viewer, request, settings)
    first_byte = None
    written = 0
    outcome = {}
    for block in stream_export(factory, plan, user_id=None, ip=None, via="benchmark", outcome=outcome):
        if first_byte is None:
            first_byte = time.perf_counter() - began
        written += len(block)
    seconds = time.perf_counter() - began
    engine.dispose()
    peak = peak_rss_mb()
    rows = int(outcome.get("rows", 0))
    return {
        "rows": rows,
        "seconds": round(seconds, 2),
        "rows_per_s": round(rows / seconds),
        "rss_mb": round(peak, 1),
        "mb": round(written / 1e6, 1),
        "first_byte_s": round(first_byte or 0.0, 3),
    }


def measure_route(database_url: str) -> dict[str, Any]:
    """The same export through the web app: sign in, GET /export/download, drain the streamed body."""
    _ensure_path()
    import re

    from portfolio.config import load_settings
    from portfolio.db import make_engine, make_session_factory, transaction
    from portfolio.models import Role
    from portfolio.services.accounts import create_user, find_user
    from portfolio.web.app import create_app

    settings = load_settings(
        environ={}, database_url=database_url, instance_path=WORK / "instance", secret_key="bench", cookie_secure=False
    )
    email, password = "bench-admin@example.com", "bench password 1"
    engine = make_engine(database_url)
    with transaction(make_session_factory(engine)) as session:
        if find_user(session, email) is None:
            create_user(session, email, Role.ADMIN, password)
    engine.dispose()
    client = create_app(settings).server.test_client()
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").get_data(as_text=True)).group(1)  # type: ignore[union-attr]
    client.post("/login", data={"email": email, "password": password, "csrf_token": token})
    query = {"group": "all", "from": START.isoformat(), "to": END.isoformat(), "shape": "interval", "format": "csv"}
    began = time.perf_counter()
    response = client.get("/export/download", query_string=query, buffered=False)
    assert response.status_code == 200, response.status
    first_byte, written, lines = None, 0, 0
    for block in response.response:
        if first_byte is None:
            first_byte = time.perf_counter() - began
        written += len(block)
        lines += block.count(b"\n")
    response.close()
    seconds = time.perf_counter() - began
    peak = peak_rss_mb()
    rows = lines - 1
    return {
        "rows": rows,
        "seconds": round(seconds, 2),
        "rows_per_s": round(rows / seconds),
        "rss_mb": round(peak, 1),
        "mb": round(written / 1e6, 1),
        "first_byte_s": round(first_byte or 0.0, 3),
    }


def _measure_in_subprocess(
    database_url: str, shape: str = "interval", format: str = "csv", route: bool = False
) -> dict[str, Any]:
    command = ["--measure-route", database_url] if route else ["--measure", database_url, shape, format]
    output = subprocess.run(
        [sys.executable, __file__, *command],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    return json.loads(output.stdout.strip().splitlines()[-1])


def run(sites: int = SITES) -> dict[str, Any]:
    """Build (or reuse) the worlds, measure CSV interval exports on both engines, return the figures."""
    _ensure_path()
    from sqlalchemy import text
    from tests.pg_server import PostgresServer

    from portfolio.db import make_engine

    figures: dict[str, dict[str, Any]] = {}
    figures["sqlite"] = _measure_in_subprocess(ensure_sqlite(sites))
    figures["sqlite_portfolio_shape"] = _measure_in_subprocess(ensure_sqlite(sites), "portfolio", "csv")
    figures["sqlite_via_route"] = _measure_in_subprocess(ensure_sqlite(sites), route=True)
    server = PostgresServer.start()
    try:
        admin = make_engine(server.admin_url).execution_options(isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text("CREATE DATABASE export_speed"))
        admin.dispose()
        url = server.url("export_speed")
        build_database(url, sites)
        engine = make_engine(url).execution_options(isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            connection.execute(text("VACUUM ANALYZE"))
        engine.dispose()
        figures["postgresql"] = _measure_in_subprocess(url)
        figures["postgresql_portfolio_shape"] = _measure_in_subprocess(url, "portfolio", "csv")
    finally:
        server.stop()
    for name, figure in figures.items():
        print(f"{name:28} {figure}", file=sys.stderr)
    return {
        "export_rows_per_s": {
            "sqlite": figures["sqlite"]["rows_per_s"],
            "postgresql": figures["postgresql"]["rows_per_s"],
        },
        "export_rss_mb": {"sqlite": figures["sqlite"]["rss_mb"], "postgresql": figures["postgresql"]["rss_mb"]},
        "export_db_speed": {
            "what": "portfolio.services.exports plan + stream, interval shape as CSV, DB to bytes, in a fresh subprocess",
            "sites": sites,
            "days": DAYS,
            "range": f"{START}..{END}",
            "engines": figures,
            "target_rows_per_s": 200_000,
            "target_rss_mb": 500,
            "measured_on": dt.date.today().isoformat(),
        },
    }


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--measure":
        print(json.dumps(measure(sys.argv[2], *sys.argv[3:5])))
    elif len(sys.argv) > 1 and sys.argv[1] == "--measure-route":
        print(json.dumps(measure_route(sys.argv[2])))
    elif len(sys.argv) > 1 and sys.argv[1] == "--build-sqlite":
        print(ensure_sqlite(int(sys.argv[2]) if len(sys.argv) > 2 else SITES))
    else:
        print(json.dumps(run(int(sys.argv[1]) if len(sys.argv) > 1 else SITES), indent=2))
