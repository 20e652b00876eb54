"""Import speed, end to end (parse + load + commit), on a fresh SQLite file and a throwaway PostgreSQL.

Generates a long half-hourly CSV (MPAN, timestamp, kWh; one row per meter and half hour) in benchmarks/work/,
then times ``portfolio.services.imports.import_file`` -- the function ``portfolio import`` calls for each file -- once per
engine. Run it through ``benchmarks/run.py`` (which merges the figures into results.json) or on its own.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "benchmarks" / "work"
METERS = 120
DAYS = 366  # 2024 is a leap year: 120 meters x 17,568 half hours = 2,108,160 rows
START = "2024-01-01"
TARGET_READINGS_PER_S = 300_000
MERGE_AT_TOP_LEVEL = True  # run.py: our keys are named import_*, merge them as they are


def _mpan(serial: int) -> str:
    """A 13-digit MPAN core with a valid check digit, so the parser files it as an MPAN."""
    from portfolio.identifiers import mpan_check_digit

    first = f"19{serial:010d}"
    return first + str(mpan_check_digit(first))


def generate_csv(meters: int = METERS, days: int = DAYS) -> Path:
    """Write (once) a realistic long HH CSV: daily and weekly shape, noise, a few estimated reads."""
    path = WORK / f"hh_long_{meters}x{days}d.csv"
    if path.exists():
        return path
    WORK.mkdir(parents=True, exist_ok=True)
    periods = days * 48
    stamps = pd.date_range(START, periods=periods, freq="30min").strftime("%Y-%m-%d %H:%M:%S").to_numpy(dtype=object)
    hour = (np.arange(periods) % 48) / 2.0
    shape = 0.6 + 0.8 * np.exp(-(((hour - 13.0) / 4.0) ** 2))
    rng = np.random.default_rng(2024)
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", newline="") as handle:
        handle.write("MPAN,Timestamp,kWh,Estimated\n")
        for meter in range(meters):
            scale = rng.uniform(0.5, 40.0)
            values = np.round(scale * shape * rng.lognormal(0.0, 0.15, periods), 3)
            estimated = np.where(rng.random(periods) < 0.002, "Y", "N")
            frame = pd.DataFrame({"mpan": _mpan(meter + 1), "ts": stamps, "kwh": values, "est": estimated})
            frame.to_csv(handle, header=False, index=False)
    tmp.rename(path)
    return path


def _time_import(database_url: str, path: Path) -> tuple[float, Any]:
    """Migrate an empty database, then time one file import the way the CLI does it."""
    from portfolio.db import make_engine, make_session_factory
    from portfolio.schema import upgrade
    from portfolio.services.imports import import_file

    engine = make_engine(database_url)
    try:
        upgrade(engine)
        factory = make_session_factory(engine)
        started = time.perf_counter()
        summary = import_file(factory, path)
        return time.perf_counter() - started, summary
    finally:
        engine.dispose()


def _time_parse(path: Path) -> float:
    from portfolio.ingest.detect import parse_file

    started = time.perf_counter()
    parse_file(path)
    return time.perf_counter() - started


def _sqlite(path: Path) -> tuple[float, Any]:
    database = WORK / "import_speed.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    try:
        return _time_import(f"sqlite:///{database}", path)
    finally:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{database}{suffix}").unlink(missing_ok=True)


def _postgresql(path: Path) -> tuple[float, Any]:
    from sqlalchemy import text
    from tests.pg_server import PostgresServer

    from portfolio.db import make_engine

    server = PostgresServer.start()
    try:
        admin = make_engine(server.admin_url).execution_options(isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text("CREATE DATABASE import_speed"))
        admin.dispose()
        return _time_import(server.url("import_speed"), path)
    finally:
        server.stop()


def run() -> dict[str, Any]:
    """Measure and return the figures to merge into results.json."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))  # for tests.pg_server
    path = generate_csv()
    timings: dict[str, float] = {}
    parse_timings: dict[str, float] = {}
    rows = 0
    for engine, measure in (("sqlite", _sqlite), ("postgresql", _postgresql)):
        parse_timings[engine] = _time_parse(path)  # just before, under the same machine load, for the split
        seconds, summary = measure(path)
        timings[engine] = seconds
        rows = summary.readings
    rates = {engine: round(rows / seconds) for engine, seconds in timings.items()}
    load_rates = {engine: round(rows / max(timings[engine] - parse_timings[engine], 1e-9)) for engine in timings}
    parse_seconds = min(parse_timings.values())
    _print_table(path, rows, parse_timings, timings, rates, load_rates)
    return {
        "import_readings_per_s": rates,
        "import_speed": {
            "rows": rows,
            "meters": METERS,
            "days": DAYS,
            "file": path.name,
            "file_mb": round(path.stat().st_size / 1e6, 1),
            "parse_seconds": round(parse_seconds, 2),
            "parse_seconds_before_each": {engine: round(seconds, 2) for engine, seconds in parse_timings.items()},
            "seconds": {engine: round(seconds, 2) for engine, seconds in timings.items()},
            "load_readings_per_s_excluding_parse": load_rates,
            "target_readings_per_s": TARGET_READINGS_PER_S,
            "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "what": "portfolio.services.imports.import_file end to end: read + sha256 + parse + load + commit, empty database",
        },
    }


def _print_table(
    path: Path,
    rows: int,
    parse_timings: dict[str, float],
    timings: dict[str, float],
    rates: dict[str, int],
    load_rates: dict[str, int],
) -> None:
    print(f"import speed: {path.name} ({path.stat().st_size / 1e6:.0f} MB, {rows:,} readings)")
    print(
        f"  {'engine':<12}{'seconds':>9}{'readings/s':>12}{'parse alone':>13}{'load (total-parse)':>20}"
        f"  target {TARGET_READINGS_PER_S:,}/s"
    )
    for engine, seconds in timings.items():
        verdict = "ok" if rates[engine] >= TARGET_READINGS_PER_S else "MISSED"
        print(
            f"  {engine:<12}{seconds:>9.2f}{rates[engine]:>12,}{parse_timings[engine]:>12.2f}s"
            f"{load_rates[engine]:>18,}/s  {verdict}"
        )


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from run import main

    raise SystemExit(main(["import_speed"]))
