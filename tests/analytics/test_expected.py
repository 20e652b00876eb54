"""Portfolio expected-consumption series on graph buckets."""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.testing import assert_allclose

from portfolio.analytics.expected import (
    add_expected_sums,
    compute_expected_bounds,
    compute_expected_series,
    compute_expected_sums,
    compute_expected_total,
)


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


def test_sums_of_disjoint_sites_add_up_to_the_series_of_all_of_them() -> None:
    a = _forecast("2024-01-01", 4, "30min", 1.0, 0.3)
    b = _forecast("2024-01-01 01:00", 2, "h", 5.0, 0.4)
    c = _forecast("2024-01-01", 3, "h", 2.0, 0.5)
    together = compute_expected_sums({1: a, 2: b, 3: c}, "hour")
    apart = add_expected_sums(compute_expected_sums({1: a, 3: c}, "hour"), compute_expected_sums({2: b}, "hour"))
    assert together["start_ts"].tolist() == apart["start_ts"].tolist() == [1704067200, 1704070800, 1704074400]
    assert_allclose(apart["expected_kwh"], [4.0, 9.0, 7.0])
    assert_allclose(apart["variance_kwh2"], [0.6**2 + 0.5**2, 0.6**2 + 0.4**2 + 0.5**2, 0.4**2 + 0.5**2])
    assert apart["sites"].tolist() == [2, 3, 2]
    assert_allclose(
        compute_expected_bounds(apart)[["expected_kwh", "lower_kwh", "upper_kwh"]],
        compute_expected_series({1: a, 2: b, 3: c}, "hour")[["expected_kwh", "lower_kwh", "upper_kwh"]],
    )


def test_a_week_total_takes_days_as_fully_correlated() -> None:
    sums = compute_expected_sums(
        {1: _forecast("2024-01-01", 7, "D", 10.0, 1.0), 2: _forecast("2024-01-01", 7, "D", 5.0, 1.0)}, "day"
    )
    total, (low, high) = compute_expected_total(sums)
    assert total == 105.0
    assert_allclose(high - total, 7 * 1.6448536 * np.sqrt(2))  # per day sites independent; days add up
    assert_allclose(total - low, high - total)
    assert compute_expected_total(compute_expected_sums({}, "day")) is None
