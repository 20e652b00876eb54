"""Import speed end to end against a bare bulk load of the same rows, side by side, on SQLite and PostgreSQL.

Three files in benchmarks/work/: a long half-hourly CSV (MPAN, timestamp, kWh, estimated; 2.1M rows), the same
readings as a wide CSV (one row per meter and UK local day, 46/48/50 half-hour columns ``00:30..24:00``) and a
smaller wide XLSX. For each file and engine: ``services.imports.import_file`` (read, sha256, detect, parse,
load, daily roll-up, portfolio series, commit) into an empty migrated database, then a *bare* load of exactly the
rows it stored into another empty database that has the same sites (SQLite: one ``executemany`` of plain
INSERTs into ``readings``; PostgreSQL: one text ``COPY`` from a prepared buffer), commit included. The ratio
bare time / import time is the figure the issue's target is about (>= 0.5). Package versions are recorded.
Run it through ``benchmarks/run.py import_speed``.
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
TARGET_RATIO = 0.5
XLSX_METERS = 12
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


def generate_wide(meters: int = METERS, days: int = DAYS) -> Path:
    """The long file's readings as wide UK-local day rows, ``00:30..24:00`` plus ``24:30, 25:00`` for 50-hh days."""
    path = WORK / f"hh_wide_{meters}x{days}d.csv"
    if path.exists():
        return path
    frame = _wide_frame(generate_csv(meters, days))
    tmp = path.with_suffix(".tmp")
    frame.to_csv(tmp, index=False)
    tmp.rename(path)
    return path


def _wide_frame(long_path: Path, meters: int | None = None) -> pd.DataFrame:
    long = pd.read_csv(long_path, dtype={"MPAN": str})
    if meters is not None:
        long = long[long["MPAN"].isin(long["MPAN"].unique()[:meters])]
    utc = pd.to_datetime(long["Timestamp"]).dt.tz_localize("UTC")  # the generator's stamps are UTC (spring gap)
    local = utc.dt.tz_convert("Europe/London")
    day = local.dt.tz_localize(None).dt.normalize()
    midnight = day.dt.tz_localize("Europe/London").dt.tz_convert("UTC")
    period = ((utc - midnight).dt.total_seconds() // 1800).astype(int)
    wide = long.assign(Date=day.dt.strftime("%d/%m/%Y"), period=period).pivot_table(
        index=["MPAN", "Date"], columns="period", values="kWh", aggfunc="first", sort=False
    )
    wide.columns = [f"{(p + 1) * 30 // 60:02d}:{(p + 1) * 30 % 60:02d}" for p in wide.columns]
    return wide.reset_index()


def generate_xlsx(meters: int = XLSX_METERS, days: int = DAYS) -> Path:
    import openpyxl

    path = WORK / f"hh_wide_{meters}x{days}d.xlsx"
    if path.exists():
        return path
    frame = _wide_frame(generate_csv(), meters)
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("Readings")
    sheet.append(list(frame.columns))
    for row in frame.itertuples(index=False):
        sheet.append([None if isinstance(v, float) and np.isnan(v) else v for v in row])
    tmp = path.with_suffix(".tmp.xlsx")
    book.save(tmp)
    tmp.rename(path)
    return path


def _time_import(database_url: str, path: Path) -> tuple[float, Any]:
    """Migrate an empty database, then time one file import the way ``portfolio import`` does it."""
    from portfolio.db import make_engine, make_session_factory
    from portfolio.schema import upgrade
    from portfolio.services.imports import import_file

    engine = make_engine(database_url)
    try:
        upgrade(engine)
        factory = make_session_factory(engine)
        started = time.perf_counter()
        result = import_file(factory, path)
        return time.perf_counter() - started, result.summary
    finally:
        engine.dispose()


def _stored_rows(database_url: str) -> tuple[pd.DataFrame, list[tuple[Any, ...]]]:
    """The readings and sites the import stored, to load bare into a second database."""
    from sqlalchemy import text

    from portfolio.db import make_engine

    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            readings = pd.read_sql(
                text(
                    "SELECT site_id, start_ts, interval_seconds, energy_kwh, estimated, import_id,"
                    " original_value, original_unit FROM readings"
                ),
                connection,
            )
            sites = [tuple(r) for r in connection.execute(text("SELECT * FROM sites ORDER BY id")).all()]
        return readings, sites
    finally:
        engine.dispose()


def _time_bare(database_url: str, readings: pd.DataFrame, source_url: str) -> float:
    """An empty migrated database with the same organisations, sites and import row; time only the bulk load."""

    from portfolio.db import make_engine
    from portfolio.schema import upgrade

    source = make_engine(source_url)
    engine = make_engine(database_url)
    try:
        upgrade(engine)
        from portfolio.models import Base

        with source.connect() as connection, engine.begin() as target:
            for name in ("organisations", "sites", "imports"):
                table = Base.metadata.tables[name]
                rows = [dict(row) for row in connection.execute(table.select()).mappings()]
                if rows:
                    target.execute(table.insert(), rows)
        columns = "site_id, start_ts, interval_seconds, energy_kwh, estimated, import_id, original_value, original_unit"
        raw = engine.raw_connection()
        try:
            if engine.dialect.name == "postgresql":
                buffer = readings.to_csv(index=False, header=False).encode()
                started = time.perf_counter()
                with raw.cursor() as cursor, cursor.copy(f"COPY readings ({columns}) FROM STDIN (FORMAT csv)") as copy:
                    copy.write(buffer)
                raw.commit()
            else:
                rows = list(readings.astype(object).where(readings.notna(), None).itertuples(index=False, name=None))
                started = time.perf_counter()
                raw.executemany(f"INSERT INTO readings ({columns}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
                raw.commit()
            return time.perf_counter() - started
        finally:
            raw.close()
    finally:
        engine.dispose()
        source.dispose()


def _sqlite_urls() -> tuple[str, str]:
    urls = []
    for name in ("import_speed.db", "import_bare.db"):
        database = WORK / name
        for suffix in ("", "-wal", "-shm"):
            Path(f"{database}{suffix}").unlink(missing_ok=True)
        urls.append(f"sqlite:///{database}")
    return urls[0], urls[1]


def _measure(import_url: str, bare_url: str, path: Path) -> dict[str, float]:
    seconds, summary = _time_import(import_url, path)
    readings, _ = _stored_rows(import_url)
    bare = _time_bare(bare_url, readings, import_url)
    print(f"  {path.name} on {import_url.split(':')[0]}: import {seconds:.2f} s, bare {bare:.2f} s", flush=True)
    return {
        "readings": summary.readings,
        "import_seconds": round(seconds, 3),
        "bare_seconds": round(bare, 3),
        "import_readings_per_s": round(summary.readings / seconds),
        "bare_readings_per_s": round(summary.readings / bare),
        "ratio": round(bare / seconds, 3),
    }


REPEATS = {"xlsx": 5}
"""Runs per file, each side's median kept: the XLSX sides take about a second, where one run is mostly noise."""


def _median(runs: list[dict[str, float]]) -> dict[str, float]:
    """Each side's median over the runs (import and bare apart), the ratio and rates from those medians."""
    if len(runs) == 1:
        return runs[0]
    readings = runs[0]["readings"]
    seconds = float(np.median([r["import_seconds"] for r in runs]))
    bare = float(np.median([r["bare_seconds"] for r in runs]))
    return {
        "readings": readings,
        "import_seconds": round(seconds, 3),
        "bare_seconds": round(bare, 3),
        "import_readings_per_s": round(readings / seconds),
        "bare_readings_per_s": round(readings / bare),
        "ratio": round(bare / seconds, 3),
        "runs": len(runs),
    }


def _versions() -> dict[str, str]:
    import sqlite3
    from importlib.metadata import version

    names = ("pandas", "numpy", "sqlalchemy", "psycopg", "python-calamine", "openpyxl", "xlrd", "lxml")
    found = {name: version(name) for name in names}
    found["sqlite"] = sqlite3.sqlite_version
    found["python"] = sys.version.split()[0]
    return found


def run() -> dict[str, Any]:
    """Measure every file on both engines in one run and return the figures to merge into results.json."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))  # for tests.pg_server
    from sqlalchemy import text
    from tests.pg_server import PostgresServer

    from portfolio.db import make_engine

    files = {"long_csv": generate_csv(), "wide_csv": generate_wide(), "xlsx": generate_xlsx()}
    figures: dict[str, dict[str, dict[str, float]]] = {name: {} for name in files}
    for name, path in files.items():
        figures[name]["sqlite"] = _median([_measure(*_sqlite_urls(), path) for _ in range(REPEATS.get(name, 1))])
    server = PostgresServer.start()
    try:
        admin = make_engine(server.admin_url).execution_options(isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            postgresql_version = str(connection.scalar(text("SHOW server_version")))
        for name, path in files.items():
            runs = []
            for repeat in range(REPEATS.get(name, 1)):
                with admin.connect() as connection:
                    for db in (f"imp_{name}_{repeat}", f"bare_{name}_{repeat}"):
                        connection.execute(text(f"CREATE DATABASE {db}"))
                runs.append(_measure(server.url(f"imp_{name}_{repeat}"), server.url(f"bare_{name}_{repeat}"), path))
            figures[name]["postgresql"] = _median(runs)
        admin.dispose()
    finally:
        server.stop()
    versions = {**_versions(), "postgresql": postgresql_version}
    _print_table(files, figures, versions)
    long = figures["long_csv"]
    return {
        "import_readings_per_s": {engine: long[engine]["import_readings_per_s"] for engine in ("sqlite", "postgresql")},
        "import_speed": {
            "files": {
                name: {"file": path.name, "file_mb": round(path.stat().st_size / 1e6, 1)}
                for name, path in files.items()
            },
            "figures": figures,
            "target_ratio": TARGET_RATIO,
            "versions": versions,
            "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "what": "services.imports.import_file end to end (read, sha256, detect, parse, load, roll-ups, commit) "
            "vs a bare bulk load of the same rows (SQLite executemany, PostgreSQL COPY), empty databases",
        },
    }


def _print_table(
    files: dict[str, Path], figures: dict[str, dict[str, dict[str, float]]], versions: dict[str, str]
) -> None:
    print(f"import speed vs bare bulk load (target ratio >= {TARGET_RATIO})")
    print(
        f"  {'file':<10}{'engine':<12}{'readings':>10}{'import s':>10}{'bare s':>9}{'import/s':>11}{'bare/s':>11}{'ratio':>7}"
    )
    for name in files:
        for engine, f in figures[name].items():
            print(
                f"  {name:<10}{engine:<12}{int(f['readings']):>10,}{f['import_seconds']:>10.2f}{f['bare_seconds']:>9.2f}"
                f"{int(f['import_readings_per_s']):>11,}{int(f['bare_readings_per_s']):>11,}{f['ratio']:>7.2f}"
            )
    print("  versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()))


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from run import main

    raise SystemExit(main(["import_speed"]))
