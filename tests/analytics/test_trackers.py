"""Tracker arithmetic: local calendar periods (clock changes included), progress, projection, crossing."""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd
import pytest

from portfolio.analytics.trackers import (
    Z_90,
    TrackerPeriodError,
    compute_period_bounds,
    compute_progress,
    compute_projection,
    compute_state,
    detect_crossing,
    estimate_crossing_day,
)


def test_a_week_starts_on_monday_and_spans_local_midnights() -> None:
    week = compute_period_bounds("week", dt.date(2026, 11, 26))  # a Thursday
    assert (week.start, week.end, week.days) == (dt.date(2026, 11, 23), dt.date(2026, 11, 29), 7)
    assert week.start_ts == int(dt.datetime(2026, 11, 23, tzinfo=dt.UTC).timestamp())  # GMT in November
    assert week.end_ts - week.start_ts == 7 * 86_400


def test_periods_holding_a_clock_change_are_an_hour_short_or_long() -> None:
    spring = compute_period_bounds("week", dt.date(2026, 3, 29))  # Sunday 29 March 2026: clocks go forward
    assert spring.start == dt.date(2026, 3, 23) and spring.end_ts - spring.start_ts == 7 * 86_400 - 3600
    autumn_day = compute_period_bounds("day", dt.date(2026, 10, 25))
    assert autumn_day.end_ts - autumn_day.start_ts == 25 * 3600
    summer = compute_period_bounds("day", dt.date(2026, 7, 1))
    assert summer.start_ts == int(dt.datetime(2026, 6, 30, 23, tzinfo=dt.UTC).timestamp())  # BST midnight


def test_months_are_calendar_months() -> None:
    february = compute_period_bounds("month", dt.date(2028, 2, 15))
    assert (february.start, february.end, february.days) == (dt.date(2028, 2, 1), dt.date(2028, 2, 29), 29)
    december = compute_period_bounds("month", dt.date(2026, 12, 31))
    assert december.end == dt.date(2026, 12, 31)
    with pytest.raises(TrackerPeriodError):
        compute_period_bounds("fortnight", dt.date(2026, 1, 1))


def test_progress_and_crossing() -> None:
    assert compute_progress(50.0, 200.0) == 0.25
    assert compute_progress(None, 200.0) is None and compute_progress(10.0, 0.0) is None
    assert detect_crossing(200.0, 200.0) is None  # at the amount is not over it
    crossing = detect_crossing(250.0, 200.0)
    assert crossing is not None and crossing.excess_kwh == 50.0 and crossing.excess_pct == pytest.approx(25.0)
    assert detect_crossing(None, 200.0) is None


def test_projection_uses_models_and_run_rate_and_says_which() -> None:
    so_far = pd.Series({1: 30.0, 2: 20.0})
    modelled = pd.Series({1: 40.0})
    mixed = compute_projection(so_far, modelled, days_elapsed=2, days_remaining=5)
    assert mixed.method == "model + run-rate"
    assert mixed.kwh == pytest.approx(30 + 20 + 40 + 20 / 2 * 5)
    assert compute_projection(so_far, pd.Series(dtype=float), 2, 5).method == "run-rate"
    assert compute_projection(so_far, pd.Series({1: 1.0, 2: 2.0}), 2, 5).method == "model"
    done = compute_projection(so_far, pd.Series(dtype=float), 7, 0)
    assert (done.kwh, done.method) == (50.0, "complete")
    # a missing site stays missing: nothing is added for it
    assert compute_projection(pd.Series({1: 10.0}), pd.Series(dtype=float), 1, 1).kwh == 20.0


def test_the_band_adds_model_variances_and_run_rate_scatter_as_independent_errors() -> None:
    so_far = pd.Series({1: 30.0, 2: 20.0})
    projection = compute_projection(
        so_far,
        pd.Series({1: 40.0}),
        days_elapsed=2,
        days_remaining=5,
        remaining_variance_kwh2=pd.Series({1: 9.0}),
        daily_variance_kwh2=pd.Series({1: 100.0, 2: 3.0}),  # site 1 is modelled: its scatter is not used
    )
    half_width = Z_90 * math.sqrt(9.0 + 3.0 * 5)
    assert projection.lower_kwh == pytest.approx(projection.kwh - half_width)
    assert projection.upper_kwh == pytest.approx(projection.kwh + half_width)
    done = compute_projection(so_far, pd.Series(dtype=float), 7, 0)
    assert done.lower_kwh == done.upper_kwh == done.kwh == 50.0  # a closed period is what was used


def test_a_run_rate_site_that_missed_days_is_continued_over_them() -> None:
    # site 2 reported 1 of 2 days elapsed: 20 kWh/day over its 6 unreported days (1 missed + 5 to come)
    projection = compute_projection(
        pd.Series({2: 20.0}), pd.Series(dtype=float), 2, 5, days_reported=pd.Series({2: 1.0})
    )
    assert projection.kwh == pytest.approx(20 + 20 * 6)


def test_state_warns_when_the_lower_bound_is_above_the_amount() -> None:
    assert compute_state(900.0, 1_010.0, 1_000.0) == "warning"
    assert compute_state(900.0, 990.0, 1_000.0) == "under"  # the projection may be above; its lower end is not
    assert compute_state(1_001.0, 1_500.0, 1_000.0) == "exceeded"
    assert compute_state(None, None, 1_000.0) == "under"


def test_crossing_day_is_the_first_day_the_running_total_passes_the_amount() -> None:
    days = pd.Series({dt.date(2026, 12, 9): 400.0, dt.date(2026, 12, 10): 400.0, dt.date(2026, 12, 11): 400.0})
    assert estimate_crossing_day(11_500.0, days, 12_000.0) == dt.date(2026, 12, 10)
    assert estimate_crossing_day(10_000.0, days, 12_000.0) is None
    assert estimate_crossing_day(11_500.0, pd.Series(dtype=float), 12_000.0) is None
