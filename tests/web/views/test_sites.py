"""Site summaries become rows with labels and dates in each site's own time zone."""

from __future__ import annotations

import pandas as pd

from portfolio.web.views.sites import NO_DATA, site_rows


def test_site_rows_convert_to_local_dates_across_time_zones() -> None:
    frame = pd.DataFrame(
        {
            "name": ["Bristol", "Boston"],
            "organisation": ["A", "A"],
            "postcode": [None, "02108"],
            "fuel": ["gas", "power"],
            "meter_type": ["amr", "smart"],
            "meter_identifier": [None, "UP-1"],
            "time_zone": ["Europe/London", "America/New_York"],
            "first_reading": pd.to_datetime(["2024-01-01 00:30", "2024-03-01 03:00"], utc=True),
            "last_reading": pd.to_datetime(["2024-07-31 23:30", "2024-03-02 04:00"], utc=True),
        }
    )
    rows = site_rows(frame)
    assert [(r["first_reading"], r["last_reading"]) for r in rows] == [
        ("2024-01-01", "2024-08-01"),  # 23:30 UTC in summer is 00:30 BST the next day
        ("2024-02-29", "2024-03-01"),  # before 05:00 UTC it is still the previous day in Boston
    ]
    assert rows[0]["postcode"] == "" and rows[1]["meter_type"] == "Smart"


def test_sites_without_readings_say_so() -> None:
    frame = pd.DataFrame(
        {
            "name": ["New"],
            "organisation": ["A"],
            "postcode": ["CB1 1AA"],
            "fuel": ["power"],
            "meter_type": ["hh"],
            "meter_identifier": ["1000000000000"],
            "time_zone": ["Europe/London"],
            "first_reading": pd.to_datetime([None], utc=True),
            "last_reading": pd.to_datetime([None], utc=True),
        }
    )
    assert site_rows(frame)[0]["first_reading"] == NO_DATA
    assert site_rows(frame)[0]["last_reading"] == ""
