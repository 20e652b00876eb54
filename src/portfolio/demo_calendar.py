"""Map the demo's historic sample data onto the present, so the demo always "ends yesterday".

Timestamps move by a whole number of weeks, never by an arbitrary number of days, so weekday
patterns survive: a Monday in the source stays a Monday on screen (offices, schools and shops
look like themselves). Pure date arithmetic, no I/O: the loader owns the data.
"""

from __future__ import annotations

from datetime import date, timedelta

FORECAST_DAYS = 7
"""Days of source weather after the cut day that the demo presents as the forecast."""


def week_shift(source_last_day: date, today: date) -> tuple[timedelta, date]:
    """Return ``(shift, cut_day)`` that make the shifted source data end yesterday.

    ``cut_day`` is the last source day, on or before ``source_last_day``, with yesterday's weekday.
    ``shift = yesterday - cut_day`` is a whole number of weeks (negative if ``today`` is before the
    source data); ``cut_day + shift == yesterday``. Readings after ``cut_day`` are "the future" and the
    loader drops them; weather in the ``FORECAST_DAYS`` after ``cut_day`` becomes the forecast.
    """
    yesterday = today - timedelta(days=1)
    back = (source_last_day.weekday() - yesterday.weekday()) % 7
    cut_day = source_last_day - timedelta(days=back)
    shift = yesterday - cut_day
    return shift, cut_day
