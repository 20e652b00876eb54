"""Portfolio expected-consumption series on graph buckets."""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.testing import assert_allclose

from portfolio.analytics.expected import compute_expected_series


def _forecast(start: str, periods: int, freq: str, expected: float, se: float) -> pd.DataFrame:
    index = pd.date_range(start, periods=periods, freq=freq, tz="UTC")
    return pd.DataFrame({"expected_kwh": expected, "standard_error_kwh": se}, index=index)


def test_half_hours_sum_into_hours_and_sites_add_independently() -> None:
    a = _forecast("2024-01-01", 4, "30min", 1.0, 0.3)  # two hours of half hours
    b = _forecast("2024-01-01", 2, "h", 5.0, 0.4)
    series = compute_expected_series({1: a, 2: b}, "hour")
    assert series["start_ts"].tolist() == [1704067200, 1704070800]
    assert_allclose(series["expected_kwh"], [7.0, 7.0])
    se = np.sqrt(0.6**2 + 0.4**2)  # site a: its two half hours fully correlated; sites independent
    assert_allclose(series["upper_kwh"] - series["expected_kwh"], 1.6448536 * se, rtol=1e-6)
    assert series["sites"].tolist() == [2, 2]


def test_no_forecasts_give_an_empty_series_not_zeros() -> None:
    series = compute_expected_series({}, "day")
    assert series.empty and list(series.columns) == ["start_ts", "expected_kwh", "lower_kwh", "upper_kwh", "sites"]


def test_lower_bound_is_never_negative_energy() -> None:
    series = compute_expected_series({1: _forecast("2024-01-01", 2, "D", 0.5, 2.0)}, "day")
    assert (series["lower_kwh"] == 0).all() and (series["upper_kwh"] > 0.5).all()
