"""Degree days, local time-of-week bins and temperature alignment for the consumption models.

Everything takes UTC-indexed pandas objects and returns numpy arrays or pandas objects aligned to
the input: the models in :mod:`portfolio.analytics.forecast` build their designs from these.
Occupancy follows local clocks, so time of week and local days are computed in ``time_zone``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import numpy as np
import pandas as pd

from portfolio.timekeeping import SECONDS_PER_DAY

MAX_TEMPERATURE_GAP_HOURS = 3


def compute_heating_degrees(temperature_c: np.ndarray | pd.Series, balance_point_c: float) -> np.ndarray:
    """Heating degrees below the balance point, max(0, bp - T) [K] (per interval or per day)."""
    return np.maximum(0.0, balance_point_c - np.asarray(temperature_c, dtype=float))


def compute_cooling_degrees(temperature_c: np.ndarray | pd.Series, balance_point_c: float) -> np.ndarray:
    """Cooling degrees above the balance point, max(0, T - bp) [K] (per interval or per day)."""
    return np.maximum(0.0, np.asarray(temperature_c, dtype=float) - balance_point_c)


def _epoch_seconds(index: pd.DatetimeIndex) -> np.ndarray:
    return index.as_unit("s").asi8


def _require_utc_index(series_or_index: pd.Series | pd.DatetimeIndex, name: str) -> pd.DatetimeIndex:
    index = series_or_index.index if isinstance(series_or_index, pd.Series) else series_or_index
    if not isinstance(index, pd.DatetimeIndex) or index.tz is None:
        raise TypeError(f"{name} must have a time-zone-aware (UTC) DatetimeIndex")
    return index.tz_convert("UTC")


def compute_interval_seconds(index: pd.DatetimeIndex) -> int:
    """Typical interval length of a series [s]: the most common spacing (1800, 3600 or 86400 ...)."""
    if len(index) < 2:
        raise ValueError("cannot infer the interval length from fewer than two timestamps")
    steps = np.diff(np.sort(_epoch_seconds(index)))
    steps = steps[steps > 0]
    values, counts = np.unique(steps, return_counts=True)
    seconds = int(values[np.argmax(counts)])
    # a daily series in local time has 23/24/25-hour steps
    return SECONDS_PER_DAY if 82_800 <= seconds <= 90_000 else seconds


def compute_local_day_of_week(index: pd.DatetimeIndex, time_zone: str, holidays: Iterable[dt.date] = ()) -> np.ndarray:
    """Local day of week 0 (Monday) .. 6 (Sunday); local holidays count as Sunday."""
    local = _require_utc_index(index, "index").tz_convert(time_zone)
    day_of_week = np.asarray(local.day_of_week, dtype=np.int64)
    holiday_set = set(holidays)
    if holiday_set:
        is_holiday = np.fromiter((day in holiday_set for day in local.date), dtype=bool, count=len(local))
        day_of_week = np.where(is_holiday, 6, day_of_week)
    return day_of_week


def compute_local_time_of_week(
    index: pd.DatetimeIndex, time_zone: str, interval_seconds: int, holidays: Iterable[dt.date] = ()
) -> np.ndarray:
    """Local interval-of-week bin of each interval start: 0 .. 7 * intervals per day - 1.

    Monday 00:00 local is bin 0; a half-hourly series has 336 bins, an hourly one 168. Holidays take
    Sunday's bins. On the long clock-change day the repeated local hour falls into the same bins.
    """
    local = _require_utc_index(index, "index").tz_convert(time_zone)
    per_day = SECONDS_PER_DAY // interval_seconds
    seconds_of_day = np.asarray(local.hour * 3600 + local.minute * 60 + local.second, dtype=np.int64)
    day_of_week = compute_local_day_of_week(index, time_zone, holidays)
    return day_of_week * per_day + seconds_of_day // interval_seconds


def compute_local_day_start(index: pd.DatetimeIndex, time_zone: str) -> pd.DatetimeIndex:
    """UTC instant of the local midnight starting each timestamp's local day."""
    local = _require_utc_index(index, "index").tz_convert(time_zone)
    return local.normalize().tz_convert("UTC")


def compute_interval_temperature(temperature_c: pd.Series, index: pd.DatetimeIndex, window_hours: int = 1) -> pd.Series:
    """Air temperature at each interval start [°C], linearly interpolated from hourly values.

    ``window_hours`` > 1 uses the trailing mean over that many hours (thermal inertia). Intervals more
    than three hours from an observation on either side get NaN: a gap is not invented.
    """
    index = _require_utc_index(index, "index")
    temperature_c = temperature_c.dropna()
    temperature_c = temperature_c.set_axis(_require_utc_index(temperature_c, "temperature")).sort_index()
    temperature_c = temperature_c[~temperature_c.index.duplicated()]
    if window_hours > 1:
        hourly = temperature_c.resample("1h").mean()
        temperature_c = hourly.rolling(window_hours, min_periods=max(1, window_hours // 2)).mean().dropna()
    if temperature_c.empty:
        return pd.Series(np.nan, index=index, name="temperature_c")
    source = _epoch_seconds(pd.DatetimeIndex(temperature_c.index))
    target = _epoch_seconds(index)
    values = np.interp(target, source, temperature_c.to_numpy(dtype=float))
    after = np.searchsorted(source, target, side="left")
    before = np.clip(after - 1, 0, len(source) - 1)
    after_clipped = np.clip(after, 0, len(source) - 1)
    exact = source[after_clipped] == target
    max_gap = MAX_TEMPERATURE_GAP_HOURS * 3600
    inside = (after > 0) & (after < len(source))
    near = inside & (target - source[before] <= max_gap) & (source[after_clipped] - target <= max_gap)
    values = np.where(exact | near, values, np.nan)
    return pd.Series(values, index=index, name="temperature_c")


def compute_daily_mean_temperature(temperature_c: pd.Series, time_zone: str, min_hours: int = 18) -> pd.Series:
    """Mean air temperature of each local day [°C], indexed by the UTC instant of local midnight.

    Days with fewer than ``min_hours`` hourly observations get no value.
    """
    temperature_c = temperature_c.dropna()
    index = _require_utc_index(temperature_c, "temperature")
    hourly = pd.Series(temperature_c.to_numpy(dtype=float), index=index).resample("1h").mean().dropna()
    day = compute_local_day_start(pd.DatetimeIndex(hourly.index), time_zone)
    grouped = hourly.groupby(day)
    means = grouped.mean()[grouped.count() >= min_hours]
    means.index.name = None
    return means.rename("temperature_c")


def compute_local_daily_totals(readings_kwh: pd.Series, time_zone: str, interval_seconds: int) -> pd.Series:
    """Energy per complete local day [kWh], indexed by the UTC instant of local midnight.

    A day counts only when every interval of it is present (46/48/50 half hours in the UK), so a gap
    never shows as a low day.
    """
    readings_kwh = readings_kwh.dropna()
    index = _require_utc_index(readings_kwh, "readings")
    values = pd.Series(readings_kwh.to_numpy(dtype=float), index=index)
    day = compute_local_day_start(index, time_zone)
    grouped = values.groupby(day)
    totals, counts = grouped.sum(), grouped.count()
    starts = pd.DatetimeIndex(totals.index)
    ends = (starts.tz_convert(time_zone) + pd.DateOffset(days=1)).tz_convert("UTC")
    expected = (_epoch_seconds(ends) - _epoch_seconds(starts)) // interval_seconds
    totals = totals[counts.to_numpy() == expected]
    totals.index.name = None
    return totals.rename("energy_kwh")
