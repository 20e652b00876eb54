"""Measure the CSV export writer path: 1,000 sites x one year of half hours (17.5M rows), streamed.

Chunks are synthesised one at a time (50k rows, ordered by site then time, as the data layer's server-side cursor
will deliver them), shaped into interval rows and written as CSV into a counting sink, so memory should stay flat.
The database read is not included: ``export_db_speed.py`` measures the end-to-end figures (database -> CSV bytes)
that the contract keys ``export_rows_per_s`` / ``export_rss_mb`` report; these writer-only figures are kept under
``export_speed`` as ``writer_rows_per_s`` / ``writer_rss_mb``.

Run: ``.venv/bin/python benchmarks/export_speed.py [sites]``.
"""

from __future__ import annotations

import datetime as dt
import sys
import time
from collections.abc import Iterator

import numpy as np
import pandas as pd

from memory import peak_rss_mb
from portfolio.exports import ExportMeta, write_export

CHUNK_ROWS = 50_000
YEAR_START_TS = 1704067200  # 2024-01-01T00:00Z
HALF_HOURS_PER_YEAR = 365 * 48  # 17,520; the leap day is left out so 1,000 sites make 17.52M rows


def iter_synthetic_chunks(sites: int, intervals: int = HALF_HOURS_PER_YEAR, seed: int = 7) -> Iterator[pd.DataFrame]:
    """Yield reading chunks of ``CHUNK_ROWS`` for ``sites`` HH sites, never holding more than one chunk."""
    rng = np.random.default_rng(seed)
    total = sites * intervals
    names = np.array([f"Site {n:04d}, Unit {n % 7}" for n in range(sites)], dtype=object)
    mpans = np.array([f"{1_200_000_000_000 + n * 97:013d}" for n in range(sites)], dtype=object)
    fuels = np.where(np.arange(sites) % 3 == 0, "gas", "power").astype(object)
    for begin in range(0, total, CHUNK_ROWS):
        row = np.arange(begin, min(begin + CHUNK_ROWS, total), dtype="int64")
        site = row // intervals
        yield pd.DataFrame(
            {
                "site_id": site + 1,
                "site_name": names[site],
                "meter_identifier": mpans[site],
                "fuel": fuels[site],
                "time_zone": "Europe/London",
                "start_ts": YEAR_START_TS + (row % intervals) * 1800,
                "interval_seconds": np.full(len(row), 1800, dtype="int64"),
                "energy_kwh": np.round(rng.gamma(2.0, 0.6, len(row)), 3),
                "estimated": rng.random(len(row)) < 0.01,
            }
        )


def _peak_rss_mb() -> float:
    """Peak resident memory of this process [MB] (see memory.py for why not ru_maxrss)."""
    return peak_rss_mb()


def run(sites: int = 1000) -> dict[str, float]:
    """Stream ``sites`` x one year of HH readings through the CSV writer; report rows/s and peak RSS [MB]."""
    meta = ExportMeta(start=dt.date(2024, 1, 1), end=dt.date(2024, 12, 30), generated_at=dt.datetime.now(dt.UTC))
    rows = sites * HALF_HOURS_PER_YEAR
    written = 0
    began = time.perf_counter()
    for block in write_export("interval", "csv", iter_synthetic_chunks(sites), meta):
        written += len(block)
    elapsed = time.perf_counter() - began
    return {
        "writer_rows_per_s": rows / elapsed,
        "writer_rss_mb": _peak_rss_mb(),
        "rows": float(rows),
        "seconds": elapsed,
        "csv_mb": written / 1e6,
    }


if __name__ == "__main__":
    print(run(int(sys.argv[1]) if len(sys.argv) > 1 else 1000))
