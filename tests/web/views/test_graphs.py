"""The graph page's zoom: plotly's relayoutData (wall-clock times on the axis) to the UTC window fetched."""

from __future__ import annotations

import datetime as dt

from portfolio.timekeeping import UK_TIME_ZONE
from portfolio.web.views.graphs import zoom_window

LOS_ANGELES = "America/Los_Angeles"


def _utc(*args: int) -> int:
    return int(dt.datetime(*args, tzinfo=dt.UTC).timestamp())


def test_a_los_angeles_sites_zoom_is_read_in_los_angeles_time():
    relayout = {"xaxis.range[0]": "2026-07-15 06:00:00", "xaxis.range[1]": "2026-07-15 18:00:00"}
    # PDT is UTC-7: 06:00 to 18:00 on the site's axis is 13:00 to 01:00 (next day) UTC.
    assert zoom_window(relayout, LOS_ANGELES) == (_utc(2026, 7, 15, 13), _utc(2026, 7, 16, 1))
    # Read as UK time (the old bug) the same zoom would fetch a window eight hours earlier.
    uk = zoom_window(relayout, UK_TIME_ZONE)
    assert uk == (_utc(2026, 7, 15, 5), _utc(2026, 7, 15, 17))


def test_a_los_angeles_zoom_across_the_us_clock_change_uses_both_offsets():
    relayout = {"xaxis.range": ["2026-11-01 00:00", "2026-11-02 00:00"]}  # PDT -> PST at 02:00 local
    assert zoom_window(relayout, LOS_ANGELES) == (_utc(2026, 11, 1, 7), _utc(2026, 11, 2, 8))


def test_reset_and_unrelated_relayouts():
    assert zoom_window({"xaxis.autorange": True}, LOS_ANGELES) is None
    assert zoom_window({"autosize": True}, LOS_ANGELES) is False  # plotly's first draw: not a user action
    assert zoom_window({"yaxis.range[0]": 1, "yaxis.range[1]": 2}, LOS_ANGELES) is False
    assert zoom_window(None, LOS_ANGELES) is False
    assert zoom_window("xaxis", LOS_ANGELES) is False


def test_unreadable_or_backwards_ranges_change_nothing():
    assert zoom_window({"xaxis.range[0]": "soon", "xaxis.range[1]": "later"}, LOS_ANGELES) is False
    backwards = {"xaxis.range[0]": "2026-07-15 18:00", "xaxis.range[1]": "2026-07-15 06:00"}
    assert zoom_window(backwards, LOS_ANGELES) is False
