"""The one home of time rules: local days, ranges and wall-clock times around the UK clock changes."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from portfolio.timekeeping import (
    RESOLUTION_SECONDS,
    SECONDS_PER_DAY,
    UK_TIME_ZONE,
    local_date_span,
    local_day_start_ts,
    local_midnight_ts,
    local_midnights_ts,
    local_range_ts,
    local_today,
    local_wall_time_ts,
)

SPRING_FORWARD = dt.date(2026, 3, 29)  # UK clocks go 01:00 GMT -> 02:00 BST
FALL_BACK = dt.date(2026, 10, 25)  # UK clocks go 02:00 BST -> 01:00 GMT


def test_a_uk_day_lasts_23_24_or_25_hours():
    lengths = [
        local_range_ts(day, day, UK_TIME_ZONE)[1] - local_range_ts(day, day, UK_TIME_ZONE)[0]
        for day in (SPRING_FORWARD, dt.date(2026, 6, 1), FALL_BACK)
    ]
    assert lengths == [SECONDS_PER_DAY - 3600, SECONDS_PER_DAY, SECONDS_PER_DAY + 3600]


def test_local_midnight_is_utc_midnight_in_winter_and_an_hour_earlier_in_summer():
    assert local_midnight_ts(dt.date(2026, 1, 15), UK_TIME_ZONE) == int(
        dt.datetime(2026, 1, 15, tzinfo=dt.UTC).timestamp()
    )
    assert local_midnight_ts(dt.date(2026, 7, 15), UK_TIME_ZONE) == int(
        dt.datetime(2026, 7, 14, 23, tzinfo=dt.UTC).timestamp()
    )


def test_day_starts_match_midnights_and_the_span_covers_touched_days():
    days = [SPRING_FORWARD, FALL_BACK]
    assert local_day_start_ts(days) == [local_midnight_ts(d, UK_TIME_ZONE) for d in days]
    lo, hi = local_range_ts(SPRING_FORWARD, SPRING_FORWARD + dt.timedelta(days=2), UK_TIME_ZONE)
    assert local_date_span(lo, hi) == (SPRING_FORWARD, SPRING_FORWARD + dt.timedelta(days=2))


def test_local_today_uses_the_sites_zone_not_the_servers_clock():
    late_evening_utc = dt.datetime(2026, 7, 14, 23, 30, tzinfo=dt.UTC)  # already 15 July in London (BST)
    assert local_today(late_evening_utc) == dt.date(2026, 7, 15)
    assert local_today(late_evening_utc, "America/Los_Angeles") == dt.date(2026, 7, 14)


def test_wall_time_is_read_in_the_given_zone():
    assert local_wall_time_ts("2026-07-15 12:00:00", UK_TIME_ZONE) == int(
        dt.datetime(2026, 7, 15, 11, tzinfo=dt.UTC).timestamp()
    )
    assert local_wall_time_ts("2026-07-15 12:00:00", "America/Los_Angeles") == int(
        dt.datetime(2026, 7, 15, 19, tzinfo=dt.UTC).timestamp()
    )


def test_skipped_and_repeated_wall_times_resolve_deterministically():
    skipped = local_wall_time_ts("2026-03-29 01:30", UK_TIME_ZONE)  # does not exist: moves to 02:00 BST
    assert skipped == int(dt.datetime(2026, 3, 29, 1, tzinfo=dt.UTC).timestamp())
    repeated = local_wall_time_ts("2026-10-25 01:30", UK_TIME_ZONE)  # happens twice: the GMT one
    assert repeated == int(dt.datetime(2026, 10, 25, 1, 30, tzinfo=dt.UTC).timestamp())


@pytest.mark.parametrize("text", ["", "not a time", "2026-07-15T12:00:00+00:00"])
def test_unreadable_or_zoned_wall_times_are_refused(text):
    with pytest.raises((ValueError, TypeError)):
        local_wall_time_ts(text, UK_TIME_ZONE)


def test_the_resolution_table_has_every_graph_resolution():
    assert RESOLUTION_SECONDS == {"hh": 1800, "hour": 3600, "day": SECONDS_PER_DAY}


def test_utc_offset_periods_give_each_instant_its_local_date() -> None:
    """SQL finds a row's local date as (start + offset) // 86,400: right on both sides of both UK clock changes,
    and for a zone half an hour off UTC."""
    import numpy as np
    import pandas as pd

    from portfolio.timekeeping import utc_offset_periods

    for zone in ("Europe/London", "Asia/Kolkata", "America/New_York"):
        lo, hi = local_range_ts(dt.date(2024, 1, 1), dt.date(2024, 12, 31), zone)
        periods = utc_offset_periods(lo, hi, zone)
        starts = np.arange(lo, hi, 1800, dtype=np.int64)
        offsets = np.array([o for _, o in periods])[np.searchsorted([s for s, _ in periods], starts, side="right") - 1]
        dates = (starts + offsets) // 86400
        local = pd.DatetimeIndex(starts.astype("datetime64[s]")).tz_localize("UTC").tz_convert(zone)
        expected = (local.normalize().tz_localize(None).as_unit("s").asi8 // 86400).astype(np.int64)
        assert np.array_equal(dates, expected), zone
    assert (
        len(
            utc_offset_periods(
                *local_range_ts(dt.date(2024, 1, 1), dt.date(2024, 12, 31), "Europe/London"), "Europe/London"
            )
        )
        == 3
    )


def test_local_midnights_of_repeated_days_are_each_days_own_midnight() -> None:
    """Rows repeating days (many sites' short days) get each day's own local midnight, clock-change days included,
    in row order."""
    days = [dt.date(2024, 3, 31), dt.date(2024, 10, 27), dt.date(2024, 3, 31), dt.date(2024, 6, 1)] * 3
    for zone in ("Europe/London", "America/Los_Angeles", "Asia/Kolkata"):
        got = local_midnights_ts(days, zone)
        assert got.dtype == np.int64
        assert got.tolist() == [local_midnight_ts(day, zone) for day in days]
    assert local_midnights_ts([], "Europe/London").tolist() == []
