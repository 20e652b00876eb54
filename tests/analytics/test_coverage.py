"""Coverage, totals and missing sites on known values, clock-change days included."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from portfolio.analytics.coverage import (
    compute_day_lengths_seconds,
    compute_expected_intervals,
    compute_fuel_totals,
    compute_missing_sites,
    compute_site_list,
)

LONDON = "Europe/London"


def test_uk_days_have_46_48_or_50_half_hours() -> None:
    assert compute_expected_intervals(dt.date(2024, 3, 31), dt.date(2024, 3, 31), LONDON, 1800) == 46
    assert compute_expected_intervals(dt.date(2024, 10, 27), dt.date(2024, 10, 27), LONDON, 1800) == 50
    assert compute_expected_intervals(dt.date(2024, 6, 1), dt.date(2024, 6, 1), LONDON, 1800) == 48
    assert compute_expected_intervals(dt.date(2024, 3, 31), dt.date(2024, 3, 31), LONDON, 3600) == 23
    # a whole year: 366 days in 2024, one short and one long day cancel out
    assert compute_expected_intervals(dt.date(2024, 1, 1), dt.date(2024, 12, 31), LONDON, 1800) == 366 * 48
    assert compute_expected_intervals(dt.date(2024, 1, 2), dt.date(2024, 1, 1), LONDON, 1800) == 0
    lengths = compute_day_lengths_seconds(dt.date(2024, 3, 30), dt.date(2024, 4, 1), LONDON)
    assert lengths.tolist() == [86400, 82800, 86400]


def _sites() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "site_id": [1, 2, 3, 4],
            "name": ["Bakery", "Shop", "Boiler house", "New site"],
            "fuel": ["power", "power", "gas", "power"],
            "meter_type": ["hh", "smart", "amr", "smart"],
            "time_zone": [LONDON] * 4,
            "interval_seconds": [1800, 1800, 3600, np.nan],
            "last_reading": pd.to_datetime(
                ["2024-03-31 22:30", "2024-03-31 12:00", "2024-03-31 22:00", None], utc=True
            ),
        }
    )


def test_site_list_on_a_clock_change_day() -> None:
    usage = pd.DataFrame(
        {
            "site_id": [1, 2, 3],
            "energy_kwh": [46.0, 23.0, 100.0],
            "intervals": [46, 23, 23],
            "interval_seconds": [1800, 1800, 3600],
        }
    )
    day = dt.date(2024, 3, 31)
    listing = compute_site_list(_sites(), usage, day, day).set_index("site_id")
    assert listing.loc[1, "expected_intervals"] == 46
    assert listing.loc[1, "coverage"] == 1.0
    assert listing.loc[2, "coverage"] == 0.5
    assert listing.loc[3, "expected_intervals"] == 23 and listing.loc[3, "coverage"] == 1.0
    # shares are within a fuel
    assert_allclose(listing.loc[[1, 2], "share"], [46 / 69, 23 / 69])
    assert listing.loc[3, "share"] == 1.0
    # a site with no rows has no total and no share: never a zero
    assert np.isnan(listing.loc[4, "energy_kwh"]) and np.isnan(listing.loc[4, "share"])
    assert listing.loc[4, "intervals"] == 0 and listing.loc[4, "coverage"] == 0.0


def test_missing_sites_and_fuel_totals() -> None:
    usage = pd.DataFrame(
        {"site_id": [1, 3], "energy_kwh": [10.0, 5.0], "intervals": [10, 5], "interval_seconds": [1800, 3600]}
    )
    listing = compute_site_list(_sites(), usage, dt.date(2024, 6, 1), dt.date(2024, 6, 2))
    missing = compute_missing_sites(listing)
    assert sorted(missing["name"]) == ["New site", "Shop"]
    totals = compute_fuel_totals(listing).set_index("fuel")
    assert totals.loc["power", "energy_kwh"] == 10.0
    assert totals.loc["power", "sites"] == 3 and totals.loc["power", "sites_reporting"] == 1
    assert totals.loc["gas", "energy_kwh"] == 5.0


def test_inputs_are_not_mutated() -> None:
    sites = _sites()
    before = sites.copy()
    compute_site_list(
        sites,
        pd.DataFrame(columns=["site_id", "energy_kwh", "intervals", "interval_seconds"]),
        dt.date(2024, 6, 1),
        dt.date(2024, 6, 1),
    )
    pd.testing.assert_frame_equal(sites, before)


def test_a_uk_day_bucket_expects_46_48_or_50_half_hours() -> None:
    from portfolio.analytics.coverage import compute_bucket_expected_intervals
    from portfolio.timekeeping import local_midnight_ts

    days = [dt.date(2024, 3, 31), dt.date(2024, 6, 3), dt.date(2024, 10, 27)]
    starts = np.array([local_midnight_ts(d, "Europe/London") for d in days])
    assert list(compute_bucket_expected_intervals(starts, "day", "Europe/London", 1800)) == [46, 48, 50]
    assert list(compute_bucket_expected_intervals(starts, "hour", "Europe/London", 1800)) == [2, 2, 2]


def test_one_of_48_half_hours_is_partial_not_reporting_and_only_gaps_are_estimated() -> None:
    from portfolio.analytics.coverage import compute_missing_estimate, compute_portfolio_coverage
    from portfolio.timekeeping import local_midnight_ts

    day = local_midnight_ts(dt.date(2024, 6, 3), "Europe/London")
    site_buckets = pd.DataFrame(
        {"site_id": [1, 2], "start_ts": [day, day], "intervals": [1, 0], "expected_intervals": [48, 48]}
    )
    coverage = compute_portfolio_coverage(np.array([day]), site_buckets, 8, {1})
    row = coverage.iloc[0]
    assert (row.sites_complete, row.sites_partial, row.sites_missing) == (6, 1, 1)
    assert (row.sites_modelled_gap, row.sites_unmodelled_gap) == (1, 1)
    starts = day + 1800 * np.arange(48)
    predictions = pd.DataFrame({"site_id": 1, "start_ts": starts, "expected_kwh": 2.0, "variance_kwh2": 0.25})
    present = pd.DataFrame({"site_id": [1], "start_ts": [day]})
    estimate = compute_missing_estimate(predictions, present, "day", "Europe/London").iloc[0]
    assert estimate.estimated_kwh == pytest.approx(47 * 2.0)  # the metered half hour is never estimated
    assert estimate.sites_estimated == 1
    # one site's errors are fully correlated across its missing intervals: standard errors add
    assert estimate.upper_kwh - estimate.estimated_kwh == pytest.approx(1.6448536 * 47 * 0.5)
