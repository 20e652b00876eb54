"""The demo's whole-week time shift: ends yesterday, keeps weekdays, works for any 'today'."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from portfolio.services.demo import FORECAST_DAYS, week_shift


def test_forecast_is_a_week() -> None:
    assert FORECAST_DAYS == 7


def test_lcl_2013_onto_a_known_day() -> None:
    # 2013-12-31 was a Tuesday; today 2026-11-25 (Wednesday) -> yesterday Tuesday 2026-11-24.
    shift, cut = week_shift(date(2013, 12, 31), date(2026, 11, 25))
    assert cut == date(2013, 12, 31)
    assert cut + shift == date(2026, 11, 24)
    assert shift.days % 7 == 0


def test_cut_day_steps_back_to_yesterdays_weekday() -> None:
    # 2019-12-31 is a Tuesday; yesterday is a Sunday -> last Sunday on or before is 2019-12-29.
    today = date(2026, 11, 23)  # Monday
    shift, cut = week_shift(date(2019, 12, 31), today)
    assert cut == date(2019, 12, 29)
    assert cut.weekday() == (today - timedelta(days=1)).weekday() == 6


@pytest.mark.parametrize("offset", range(0, 800, 37))
@pytest.mark.parametrize("source_last_day", [date(2013, 12, 31), date(2019, 12, 31), date(2020, 2, 29)])
def test_invariants_for_any_today(source_last_day: date, offset: int) -> None:
    # Dates before, inside and long after the source year.
    for today in (source_last_day + timedelta(days=offset - 400), date(2000, 1, 1) + timedelta(days=offset * 13)):
        yesterday = today - timedelta(days=1)
        shift, cut = week_shift(source_last_day, today)
        assert shift.days % 7 == 0 and shift.seconds == 0 and shift.microseconds == 0
        assert cut + shift == yesterday
        assert cut.weekday() == yesterday.weekday()
        assert source_last_day - timedelta(days=6) <= cut <= source_last_day


def test_today_before_the_source_gives_negative_whole_weeks() -> None:
    shift, cut = week_shift(date(2019, 12, 31), date(2010, 6, 1))
    assert shift < timedelta(0)
    assert shift.days % 7 == 0
    assert cut + shift == date(2010, 5, 31)


def test_today_right_after_the_source() -> None:
    # today = day after the last source day: no shift at all.
    assert week_shift(date(2019, 12, 31), date(2020, 1, 1)) == (timedelta(0), date(2019, 12, 31))
