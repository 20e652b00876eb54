"""Portfolio expected-consumption series on graph buckets."""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.testing import assert_allclose

from portfolio.analytics.expected import (
    RESOLUTIONS,
    add_deltas,
    add_expected_sums,
    compute_expected_bounds,
    compute_expected_series,
    compute_expected_sums,
    compute_expected_total,
    compute_scope_deltas,
    compute_site_buckets,
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


def test_site_buckets_sum_like_a_group_sum_with_gaps_and_missing_values() -> None:
    rng = np.random.default_rng(7)
    index = pd.date_range("2025-03-29 22:00", periods=200, freq="30min", tz="UTC").delete([5, 6, 40])  # gaps
    forecast = pd.DataFrame(
        {"expected_kwh": rng.uniform(0, 3, len(index)), "standard_error_kwh": rng.uniform(0, 0.5, len(index))},
        index=index,
    )
    forecast.iloc[10, 0] = np.nan  # no temperature for one interval
    got = compute_site_buckets(forecast, "hour")
    starts = index.as_unit("s").asi8 // 3600 * 3600
    want = forecast.groupby(pd.Index(starts)).sum()
    assert got["start_ts"].tolist() == want.index.tolist()
    assert_allclose(got["expected_kwh"], want["expected_kwh"], rtol=1e-12)
    assert_allclose(got["variance_kwh2"], want["standard_error_kwh"] ** 2, rtol=1e-12)


def _site_rows(site_id: int, rows: list[tuple[str, int, float, float]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "site_id": site_id,
            "resolution": pd.Categorical([r[0] for r in rows], categories=RESOLUTIONS),
            "start_ts": [r[1] for r in rows],
            "expected_kwh": [r[2] for r in rows],
            "variance_kwh2": [r[3] for r in rows],
        }
    )


def test_scope_deltas_turn_stored_sums_into_the_sums_of_the_new_rows() -> None:
    old = pd.concat(
        [
            _site_rows(1, [("hh", 0, 1.0, 0.1), ("hh", 1800, 2.0, 0.2), ("day", 0, 3.0, 0.3)]),
            _site_rows(2, [("hh", 0, 5.0, 0.5)]),
        ]
    )
    new = pd.concat(
        [
            _site_rows(1, [("hh", 1800, 2.5, 0.25), ("hh", 3600, 4.0, 0.4), ("day", 0, 6.5, 0.65)]),
            _site_rows(3, [("hh", 0, 7.0, 0.7)]),
        ]
    )
    # scope 0 holds sites 1 and 2, scope 1 sites 1 and 3; site 2's rows go, site 3's are new
    deltas = compute_scope_deltas(old, new, {1: [0, 1], 2: [0], 3: [1]}, scopes=2)
    got = {
        (int(s), RESOLUTIONS[int(r)], int(t)): (round(float(e), 9), round(float(v), 9), int(n))
        for s, r, t, e, v, n in deltas.itertuples(index=False)
    }
    assert got == {
        (0, "hh", 0): (-6.0, -0.6, -2),  # site 1's first half hour and site 2 gone
        (0, "hh", 1800): (0.5, 0.05, 0),
        (0, "hh", 3600): (4.0, 0.4, 1),
        (0, "day", 0): (3.5, 0.35, 0),
        (1, "hh", 0): (6.0, 0.6, 0),  # site 1's 1.0 gone, site 3's 7.0 arrived
        (1, "hh", 1800): (0.5, 0.05, 0),
        (1, "hh", 3600): (4.0, 0.4, 1),
        (1, "day", 0): (3.5, 0.35, 0),
    }
    assert add_deltas([deltas, deltas.assign(expected_kwh=-deltas["expected_kwh"])])["expected_kwh"].abs().max() == 0
    assert compute_scope_deltas(old.iloc[:0], new.iloc[:0], {1: [0]}, scopes=1).empty
