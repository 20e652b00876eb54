"""Resolution choice, local grids, bucketing and weighted temperatures, checked against known values."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from portfolio.analytics.resolution import (
    MAX_POINTS,
    choose_resolution,
    compute_grid_series,
    compute_load_profile,
    compute_local_axis,
    compute_local_labels,
    compute_site_series,
    finest_resolution,
)
from portfolio.timekeeping import local_range_ts

LONDON = "Europe/London"
DAY = 86_400


def test_resolution_follows_the_visible_span_and_the_meters() -> None:
    assert choose_resolution(365 * DAY, "hh") == "day"
    assert choose_resolution(30 * DAY, "hh") == "hour"
    assert choose_resolution(7 * DAY, "hh") == "hh"
    assert choose_resolution(7 * DAY, "hour") == "hour"  # an hourly meter is never shown as half hours
    assert choose_resolution(1 * DAY, "hour", "hh") == "hour"
    assert choose_resolution(365 * DAY, "hh", "hh") == "day"  # asked for, but 17,520 points is too many
    assert 365 * DAY / 3600 > MAX_POINTS and choose_resolution(60 * DAY, "hh", "hour") == "hour"
    assert finest_resolution([1800, 1800]) == "hh" and finest_resolution([1800, 3600]) == "hour"


def test_grid_leaves_missing_buckets_nan() -> None:
    axis = compute_local_axis(*local_range_ts(dt.date(2024, 3, 31), dt.date(2024, 3, 31), LONDON), "hour", LONDON)
    assert len(axis) == 23
    series = pd.DataFrame(
        {"start_ts": axis["start_ts"][:5], "energy_kwh": 1.0, "sites_reporting": 1, "estimated_intervals": 0}
    )
    grid = compute_grid_series(series, axis)
    assert grid["energy_kwh"].isna().sum() == 18 and (grid["energy_kwh"].fillna(-1) != 0).all()


def test_site_series_sums_into_local_days_and_drops_longer_readings() -> None:
    lo, hi = local_range_ts(dt.date(2024, 10, 27), dt.date(2024, 10, 27), LONDON)
    ts = np.arange(lo, hi, 1800)
    readings = pd.DataFrame({"start_ts": ts, "interval_seconds": 1800, "energy_kwh": 1.0, "estimated": False})
    readings.loc[0, "estimated"] = True
    day = compute_site_series(readings, "day", LONDON)
    assert day["energy_kwh"].tolist() == [50.0] and day["estimated_intervals"].tolist() == [1]
    assert day["start_ts"].tolist() == [lo]
    hourly = pd.DataFrame({"start_ts": ts[::2], "interval_seconds": 3600, "energy_kwh": 2.0, "estimated": False})
    assert compute_site_series(hourly, "hh", LONDON).empty


def test_load_profile_is_weekday_by_local_hour() -> None:
    lo, hi = local_range_ts(dt.date(2024, 6, 3), dt.date(2024, 6, 16), LONDON)  # two whole weeks from a Monday
    ts = np.arange(lo, hi, 1800)
    series = pd.DataFrame({"start_ts": ts, "energy_kwh": 1.0})
    profile = compute_load_profile(series, LONDON)
    assert profile.shape == (7, 24) and (profile == 2.0).all().all()


@pytest.mark.parametrize("time_zone", ["Europe/London", "America/Los_Angeles", "Asia/Kolkata", "Australia/Adelaide"])
def test_local_labels_read_as_strftime_across_clock_changes(time_zone: str) -> None:
    """The looked-up labels say what strftime says, bucket by bucket, over a year and both clock changes (the
    repeated 01:00 and 01:30 of a UK autumn day once BST, once GMT), in zones off the hour and west of UTC."""
    start = local_range_ts(dt.date(2023, 10, 1), dt.date(2023, 10, 1), "UTC")[0]
    ts = np.arange(start - 200 * 86_400, start + 200 * 86_400, 1800, dtype=np.int64)
    local = pd.DatetimeIndex(ts.astype("datetime64[s]")).tz_localize("UTC").tz_convert(time_zone)
    expected = np.asarray(local.strftime("%a %-d %b %Y %H:%M %Z"), dtype=object)
    assert list(compute_local_labels(local)) == list(expected)
    if time_zone == "Europe/London":
        autumn = [str(label) for label in compute_local_labels(local) if str(label).startswith("Sun 29 Oct 2023 01:")]
        assert autumn == [
            "Sun 29 Oct 2023 01:00 BST",
            "Sun 29 Oct 2023 01:30 BST",
            "Sun 29 Oct 2023 01:00 GMT",
            "Sun 29 Oct 2023 01:30 GMT",
        ]
    days = pd.date_range("2023-12-29", "2024-01-03", freq="D")
    assert list(compute_local_labels(days, with_time=False)) == list(days.strftime("%a %-d %b %Y"))
    assert list(compute_local_labels(local[:0])) == []
