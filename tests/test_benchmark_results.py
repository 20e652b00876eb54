"""benchmarks/results.json keeps the keys and shapes scripts rely on (the issues name them)."""

from __future__ import annotations

import json
from pathlib import Path

RESULTS = Path(__file__).parents[1] / "benchmarks" / "results.json"
ENGINES = {"sqlite", "postgresql"}


def test_contract_keys_and_shapes() -> None:
    results = json.loads(RESULTS.read_text())
    for key in ("import_readings_per_s", "export_rows_per_s", "export_rss_mb", "list_p95_ms"):
        assert set(results[key]) == ENGINES, key
        assert all(isinstance(value, (int, float)) and value > 0 for value in results[key].values()), key
    assert set(results["graph_p95_ms"]) == ENGINES
    for engine in ENGINES:
        assert set(results["graph_p95_ms"][engine]) == {"year", "month", "week"}
    assert results["graph_rss_mb"] > 0 and results["duckdb_year_ms"] > 0
    forecast = results["forecast"]
    for key in (
        "daily_cvrmse_median",
        "daily_nmbe_median",
        "baseline_last_week_cvrmse_median",
        "baseline_weekday_mean_cvrmse_median",
        "fit_seconds_1000_sites",
    ):
        assert isinstance(forecast[key], (int, float)), key
    assert results["machine"]["nproc"] >= 1
