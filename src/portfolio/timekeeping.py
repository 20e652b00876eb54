"""Time rules in one place: the UK zone, seconds per day, local days and ranges, and the resolution table.

Readings are stored in UTC (epoch seconds) and shown in the site's local time. A local day starts at local
midnight, so a UK day lasts 23, 24 or 25 hours (46, 48 or 50 half hours). Pure standard library and pandas:
every layer may import it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

UK_TIME_ZONE = "Europe/London"
"""The sites' zone unless a site says otherwise; also the zone of portfolio day buckets and of the daily run."""
SECONDS_PER_DAY = 86_400
"""A calendar day in UTC [s]; a local day on a clock-change date is 3600 s shorter or longer."""
RESOLUTION_SECONDS = {"hh": 1800, "hour": 3600, "day": SECONDS_PER_DAY}
"""Nominal bucket length per resolution [s]; a "day" bucket is a local day, so its real length varies."""
READING_RESOLUTIONS = ("hh", "hour")
"""Resolutions bucketed straight from readings; "day" comes from the daily roll-up (``daily_usage``)."""
MAX_RANGE_DAYS = 731
"""Longest range a page may ask for [days]: two years (one of them leap), bounded for the database."""


def local_midnight_ts(day: dt.date, time_zone: str) -> int:
    """UTC epoch second at which local ``day`` starts."""
    return int(dt.datetime.combine(day, dt.time(), ZoneInfo(time_zone)).timestamp())


def local_midnights_ts(days: Iterable[dt.date], time_zone: str) -> np.ndarray:
    """UTC epoch seconds [int64] at which each local day starts: one zone lookup per distinct day, however many rows
    repeat it (a year of 1,000 sites' short days is ~27,000 rows over 365 dates)."""
    days = list(days)
    midnight = {day: local_midnight_ts(day, time_zone) for day in set(days)}
    return np.fromiter((midnight[day] for day in days), dtype=np.int64, count=len(days))


def local_range_ts(start: dt.date, end: dt.date, time_zone: str) -> tuple[int, int]:
    """[first instant, end instant) of local days ``start``..``end`` inclusive [UTC epoch s]."""
    return local_midnight_ts(start, time_zone), local_midnight_ts(end + dt.timedelta(days=1), time_zone)


def local_day_start_ts(days: Sequence[dt.date] | pd.Series, time_zone: str = UK_TIME_ZONE) -> list[int]:
    """UTC epoch seconds of each local day's midnight (a clock-change day still starts at 00:00 local)."""
    stamps = pd.DatetimeIndex(pd.to_datetime(pd.Series(list(days)).astype(str))).tz_localize(
        ZoneInfo(time_zone), nonexistent="shift_forward", ambiguous=False
    )
    return [int(v) for v in stamps.as_unit("s").asi8]


def local_date_span(lo_ts: int, hi_ts: int, time_zone: str = UK_TIME_ZONE) -> tuple[dt.date, dt.date]:
    """The local dates touched by [lo_ts, hi_ts)."""
    zone = ZoneInfo(time_zone)
    first = dt.datetime.fromtimestamp(lo_ts, zone).date()
    last = dt.datetime.fromtimestamp(max(hi_ts - 1, lo_ts), zone).date()
    return first, last


def utc_offset_periods(lo_ts: int, hi_ts: int, time_zone: str) -> list[tuple[int, int]]:
    """The zone's UTC offsets over [lo_ts, hi_ts): (from [UTC epoch s], offset [s]) pairs, each offset holding
    from its start to the next pair's (the first from ``lo_ts``). Looked at every 15 minutes: every zone's clock
    changes fall on a quarter hour. SQL adds the offset to a UTC second and divides by 86,400 for the local date.
    """
    step = 900
    points = np.arange(lo_ts - lo_ts % step, max(hi_ts, lo_ts + 1) + step, step, dtype=np.int64)
    utc = pd.DatetimeIndex(points.astype("datetime64[s]")).tz_localize("UTC")
    offsets = (utc.tz_convert(ZoneInfo(time_zone)).tz_localize(None).as_unit("s").asi8 - points).astype(np.int64)
    changes = np.flatnonzero(np.diff(offsets)) + 1
    return [(int(lo_ts), int(offsets[0]))] + [(int(points[i]), int(offsets[i])) for i in changes]


def local_today(now: dt.datetime | None = None, time_zone: str = UK_TIME_ZONE) -> dt.date:
    """Today's date where the sites are, not on the server's clock (``now``: an aware instant, default now)."""
    return (now or dt.datetime.now(dt.UTC)).astimezone(ZoneInfo(time_zone)).date()


def local_wall_time_ts(wall_time: str, time_zone: str) -> int:
    """UTC epoch second of a naive local wall-clock time such as ``"2026-03-29 01:30:00"`` in ``time_zone``.

    A time skipped by the spring clock change moves forward to the first valid instant; an ambiguous autumn
    time takes the later (standard time) instant. Raises ValueError or TypeError for text that is not a time.
    """
    stamp = pd.Timestamp(str(wall_time))
    if stamp is pd.NaT or stamp.tzinfo is not None:
        raise ValueError(f"{wall_time!r} is not a naive local time")
    return int(stamp.tz_localize(time_zone, nonexistent="shift_forward", ambiguous=False).timestamp())
