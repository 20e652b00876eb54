"""Graph resolution and local-time axes: which granularity to draw, on which grid, with gaps left as gaps.

Series here are frames keyed by ``start_ts`` [UTC epoch s] with ``energy_kwh`` [kWh per bucket],
``sites_reporting`` and ``estimated_intervals``. Buckets are half hours ("hh"), hours ("hour") or local
days ("day", keyed by the UTC instant of local midnight). A full grid is built in the site's local time,
so a UK clock-change day has 46 or 50 half hours, and a bucket with no reading is NaN, never zero.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from portfolio.timekeeping import RESOLUTION_SECONDS, SECONDS_PER_DAY

RESOLUTIONS = ("hh", "hour", "day")
RESOLUTION_LABELS = {"hh": "Half-hourly", "hour": "Hourly", "day": "Daily"}
AUTO = "auto"
AUTO_MAX_POINTS = 800
"""Auto picks the finest resolution that draws at most this many buckets (a fortnight of half hours)."""
MAX_POINTS = 4_000
"""Never send more buckets than this per trace, whatever was asked for (plotly-resampler style)."""
SERIES_COLUMNS = ["start_ts", "energy_kwh", "sites_reporting", "estimated_intervals"]
SAME_PERIOD_SHIFT_DAYS = 364
"""'Same period last year' is 52 weeks back, so weekdays line up (a Monday is compared with a Monday)."""


def finest_resolution(interval_seconds: Iterable[float]) -> str:
    """The finest resolution every meter supports: one hourly meter makes a portfolio hourly at best."""
    longest = max((float(s) for s in interval_seconds if s == s), default=1800.0)
    if longest <= 1800:
        return "hh"
    return "hour" if longest <= 3600 else "day"


def choose_resolution(span_seconds: float, finest: str, wanted: str = AUTO) -> str:
    """The resolution to draw a visible span [s] at: the wanted one if allowed, else the finest that fits.

    Never finer than ``finest`` (the meters' interval); never more than :data:`MAX_POINTS` buckets;
    ``"auto"`` keeps to :data:`AUTO_MAX_POINTS` so a year is daily, a month hourly and a week half-hourly.
    """
    allowed = RESOLUTIONS[RESOLUTIONS.index(finest) :]
    limit = AUTO_MAX_POINTS if wanted not in RESOLUTIONS else MAX_POINTS
    start = allowed.index(wanted) if wanted in allowed else 0
    for resolution in allowed[start:]:
        if span_seconds / RESOLUTION_SECONDS[resolution] <= limit:
            return resolution
    return "day"


def _local(ts: np.ndarray, time_zone: str) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(ts.astype("datetime64[s]")).tz_localize("UTC").tz_convert(time_zone)


_CLOCK_TEXT = np.array([f"{minute // 60:02d}:{minute % 60:02d}" for minute in range(1440)], dtype=object)
"""Every minute of a day as "HH:MM", looked up rather than formatted per bucket."""


def compute_local_labels(local: pd.DatetimeIndex, with_time: bool = True) -> np.ndarray:
    """Hover labels of local times: "Sun 27 Oct 2024 01:30 GMT" (``strftime("%a %-d %b %Y %H:%M %Z")``), or the
    date alone ("Sun 27 Oct 2024") without ``with_time``; for a naive index, the date alone.

    The same text as ``strftime``, formatted once per distinct day and zone abbreviation and looked up per bucket:
    pandas formats each timestamp through Python, ~10 ms per graph of 720 buckets, on every graph request.
    """
    aware = local.tz is not None
    wall = (local.tz_localize(None) if aware else local).as_unit("s").asi8
    days, day_of = np.unique(np.floor_divide(wall, SECONDS_PER_DAY), return_inverse=True)
    epoch = dt.date(1970, 1, 1)
    day_text = np.array([(epoch + dt.timedelta(days=int(d))).strftime("%a %-d %b %Y") for d in days], dtype=object)
    if not with_time or not aware or not len(wall):
        return day_text[day_of.reshape(-1)]
    offsets, offset_of = np.unique(wall - local.as_unit("s").asi8, return_inverse=True)
    offset_of = offset_of.reshape(-1)
    # one abbreviation per UTC offset (GMT / BST), read from the zone at the first bucket with that offset
    examples = [int(np.flatnonzero(offset_of == k)[0]) for k in range(len(offsets))]
    zone_text = np.array([" " + str(local[i].tzname() or "") for i in examples], dtype=object)
    minutes = np.floor_divide(np.mod(wall, SECONDS_PER_DAY), 60)
    labels: np.ndarray = day_text[day_of.reshape(-1)] + " " + _CLOCK_TEXT[minutes] + zone_text[offset_of]
    return labels


def compute_local_axis(lo_ts: int, hi_ts: int, resolution: str, time_zone: str) -> pd.DataFrame:
    """Every bucket of [lo_ts, hi_ts) in local time: start_ts, local_time (naive wall clock), label.

    Half hours and hours step in UTC, so the spring-forward day has 46 half hours and the fall-back day 50
    (01:00 and 01:30 twice, once BST and once GMT: the label says which). Days step by local date.
    """
    if resolution == "day":
        first = dt.datetime.fromtimestamp(lo_ts, ZoneInfo(time_zone)).date()
        last = dt.datetime.fromtimestamp(hi_ts - 1, ZoneInfo(time_zone)).date()
        days = pd.date_range(first, last, freq="D")
        local = days.tz_localize(time_zone, nonexistent="shift_forward", ambiguous=False)
        ts = local.as_unit("s").asi8
        labels = compute_local_labels(days, with_time=False)
    else:
        step = RESOLUTION_SECONDS[resolution]
        ts = np.arange(-(-lo_ts // step) * step, hi_ts, step, dtype=np.int64)
        local = _local(ts, time_zone)
        labels = compute_local_labels(local)
    return pd.DataFrame(
        {
            "start_ts": np.asarray(ts, dtype=np.int64),
            "local_time": local.tz_localize(None),
            "label": np.asarray(labels, dtype=object),
        }
    )


def compute_grid_series(series: pd.DataFrame, axis: pd.DataFrame) -> pd.DataFrame:
    """``series`` reindexed onto the full ``axis``: buckets without data get NaN energy, not zero."""
    extra = [c for c in ("intervals",) if c in series.columns]
    merged = axis.merge(series[SERIES_COLUMNS + extra], on="start_ts", how="left")
    merged["sites_reporting"] = merged["sites_reporting"].fillna(0).astype("int64")
    merged["estimated_intervals"] = merged["estimated_intervals"].fillna(0).astype("int64")
    return merged


def compute_site_series(readings: pd.DataFrame, resolution: str, time_zone: str) -> pd.DataFrame:
    """One site's readings (start_ts, interval_seconds, energy_kwh, estimated) summed into buckets.

    Readings longer than a bucket are left out rather than split: they would invent a profile. ``intervals``
    counts the readings in each bucket, so a day with 1 of 48 half hours can be drawn as partial.
    """
    seconds = RESOLUTION_SECONDS[resolution]
    frame = readings[readings["interval_seconds"] <= seconds]
    ts = frame["start_ts"].to_numpy(dtype=np.int64)
    if resolution == "day":
        local = _local(ts, time_zone).tz_localize(None).normalize()
        bucket = local.tz_localize(time_zone, nonexistent="shift_forward", ambiguous=False).as_unit("s").asi8
    else:
        bucket = (ts // seconds) * seconds
    grouped = (
        pd.DataFrame(
            {
                "start_ts": bucket,
                "energy_kwh": frame["energy_kwh"].to_numpy(dtype=np.float64),
                "estimated_intervals": frame["estimated"].to_numpy(dtype=np.int64),
                "intervals": np.ones(len(frame), dtype=np.int64),
            }
        )
        .groupby("start_ts", as_index=False)
        .sum()
    )
    grouped["sites_reporting"] = 1
    return grouped[[*SERIES_COLUMNS, "intervals"]]


def compute_shifted_series(series: pd.DataFrame, days: int, resolution: str, time_zone: str) -> pd.DataFrame:
    """Move a series ``days`` later (local days stay local days across clock changes)."""
    shifted = series.copy()
    if resolution == "day":
        local = _local(series["start_ts"].to_numpy(dtype=np.int64), time_zone).tz_localize(None) + pd.Timedelta(
            days=days
        )
        shifted["start_ts"] = (
            local.tz_localize(time_zone, nonexistent="shift_forward", ambiguous=False).as_unit("s").asi8
        )
    else:
        shifted["start_ts"] = series["start_ts"] + days * SECONDS_PER_DAY
    return shifted


def compute_load_profile(series: pd.DataFrame, time_zone: str) -> pd.DataFrame:
    """Mean energy [kWh per hour] by local weekday (rows Mon..Sun) and local hour (columns 0..23).

    ``series`` is at "hh" or "hour"; half hours are summed into their hour first. Missing buckets stay
    out of the mean (NaN cells where a weekday-hour never reported).
    """
    frame = series.dropna(subset=["energy_kwh"])
    index = pd.Index(range(7), name="weekday")
    columns = pd.Index(range(24), name="hour")
    if frame.empty:
        return pd.DataFrame(np.nan, index=index, columns=columns)
    hour_ts = (frame["start_ts"].to_numpy(dtype=np.int64) // 3600) * 3600
    hourly = pd.DataFrame({"hour_ts": hour_ts, "energy_kwh": frame["energy_kwh"].to_numpy()}).groupby("hour_ts").sum()
    local = _local(hourly.index.to_numpy(dtype=np.int64), time_zone)
    table = pd.DataFrame(
        {"weekday": local.day_of_week, "hour": local.hour, "energy_kwh": hourly["energy_kwh"].to_numpy()}
    )
    return table.pivot_table(index="weekday", columns="hour", values="energy_kwh", aggfunc="mean").reindex(
        index=index, columns=columns
    )
