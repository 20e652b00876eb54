"""Turn chunks of stored readings into the rows of each export shape: pure pandas, no formatting.

Input chunks of readings have the columns of :data:`READING_CHUNK_COLUMNS`, ordered by site then time, as the
data layer reads them with a server-side cursor. The portfolio shape reads chunks already summed per fuel and
interval (:data:`PORTFOLIO_CHUNK_COLUMNS`); :func:`compute_portfolio_intervals` is that sum in pandas.

Missing intervals stay missing: nothing here adds a row for a reading that is not there, and a day with no reading
has no daily row. Times are kept as UTC epoch seconds until the last step, where each row gets its local wall time
(in the site's zone) and the UTC offset that disambiguates the repeated hour of an autumn clock change.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np
import pandas as pd

from portfolio.analytics.coverage import compute_day_lengths_seconds

READING_CHUNK_COLUMNS = (
    "site_id",
    "site_name",
    "meter_identifier",
    "fuel",
    "time_zone",
    "start_ts",
    "interval_seconds",
    "energy_kwh",
    "estimated",
)
"""Raw reading chunks: start_ts int64 UTC epoch seconds of the interval start; energy_kwh float64 [kWh]; estimated bool."""

PORTFOLIO_CHUNK_COLUMNS = ("start_ts", "fuel", "energy_kwh", "sites_reporting")
"""Portfolio chunks: one row per fuel and interval start, summed over sites [kWh]."""

INTERVAL_COLUMNS = (
    "site_id",
    "site_name",
    "meter_identifier",
    "fuel",
    "local_start",
    "utc_offset",
    "utc_start",
    "interval_seconds",
    "energy_kwh",
    "estimated",
)
"""Interval rows: local_start is naive local wall time, utc_start naive UTC (both datetime64[s]); utc_offset "+01:00"."""

DAILY_COLUMNS = (
    "site_id",
    "site_name",
    "meter_identifier",
    "fuel",
    "local_date",
    "energy_kwh",
    "intervals",
    "expected_intervals",
    "coverage",
    "estimated_intervals",
    "interval_seconds",
)
"""Daily rows per site and local day: coverage = intervals / expected_intervals (46, 48 or 50 half hours in the UK)."""

PORTFOLIO_COLUMNS = ("fuel", "local_start", "utc_offset", "utc_start", "energy_kwh", "sites_reporting")

ROLLED_UP_DAY_COLUMNS = (
    "site_id",
    "site_name",
    "meter_identifier",
    "fuel",
    "time_zone",
    "local_date",
    "energy_kwh",
    "intervals",
    "estimated_intervals",
    "interval_seconds",
)
"""Days as the daily roll-up keeps them (one row per site and local day, ordered by site then day): local_date
datetime64[D], energy_kwh [kWh], intervals and estimated_intervals counts, interval_seconds the day's shortest [s].
The daily shape reads them instead of readings where it can (``services/exports.py``)."""


def compute_local_times(start_ts: np.ndarray, time_zone: str) -> tuple[np.ndarray, np.ndarray]:
    """Local wall-clock epoch seconds and UTC offsets [s] of UTC epoch seconds in ``time_zone``."""
    utc_seconds = np.asarray(start_ts, dtype="int64")
    utc = pd.DatetimeIndex(utc_seconds.astype("datetime64[s]")).tz_localize("UTC")
    wall = utc.tz_convert(time_zone).tz_localize(None).as_unit("s").asi8
    return wall, wall - utc_seconds


def format_utc_offsets(offset_seconds: np.ndarray) -> np.ndarray:
    """ISO 8601 offsets ("+01:00") for offsets in seconds, formatting each distinct offset once."""
    distinct, positions = np.unique(np.asarray(offset_seconds, dtype="int64"), return_inverse=True)
    labels = np.array([_offset_label(int(seconds)) for seconds in distinct], dtype=object)
    return labels[positions.reshape(-1)] if len(distinct) else np.array([], dtype=object)


def _offset_label(seconds: int) -> str:
    sign = "-" if seconds < 0 else "+"
    minutes = abs(seconds) // 60
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def _local_columns(start_ts: pd.Series, time_zones: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Local wall time and offset per row, converting once per distinct zone in the chunk."""
    wall = np.empty(len(start_ts), dtype="int64")
    offset = np.empty(len(start_ts), dtype="int64")
    utc_seconds = start_ts.to_numpy(dtype="int64")
    zones = time_zones.to_numpy(dtype=object)
    for zone in pd.unique(zones):
        mask = zones == zone
        wall[mask], offset[mask] = compute_local_times(utc_seconds[mask], str(zone))
    return wall, offset


def _start_columns(utc_seconds: np.ndarray, wall: np.ndarray, offset: np.ndarray) -> dict[str, Any]:
    """The three start columns of every export row: local wall time, its UTC offset text, and UTC [s]."""
    return {
        "local_start": wall.astype("datetime64[s]"),
        "utc_offset": format_utc_offsets(offset),
        "utc_start": utc_seconds.astype("datetime64[s]"),
    }


def compute_interval_rows(readings: pd.DataFrame) -> pd.DataFrame:
    """One row per site and metered interval, with local and UTC start, exactly the readings given."""
    wall, offset = _local_columns(readings["start_ts"], readings["time_zone"])
    utc_seconds = readings["start_ts"].to_numpy(dtype="int64")
    return pd.DataFrame(
        {
            "site_id": readings["site_id"].to_numpy(),
            "site_name": readings["site_name"].to_numpy(dtype=object),
            "meter_identifier": readings["meter_identifier"].to_numpy(dtype=object),
            "fuel": readings["fuel"].to_numpy(dtype=object),
            **_start_columns(utc_seconds, wall, offset),
            "interval_seconds": readings["interval_seconds"].to_numpy(dtype="int64"),
            "energy_kwh": readings["energy_kwh"].to_numpy(dtype="float64"),
            "estimated": readings["estimated"].to_numpy(dtype=bool),
        },
        columns=list(INTERVAL_COLUMNS),
    )


def with_local_date(readings: pd.DataFrame) -> pd.DataFrame:
    """Add the local day each interval starts in (the site's zone), the key of daily rows and ESPI blocks."""
    wall, _ = _local_columns(readings["start_ts"], readings["time_zone"])
    return readings.assign(local_date=(wall // 86_400).astype("datetime64[D]"))


def compute_daily_rows(readings: pd.DataFrame) -> pd.DataFrame:
    """One row per site and local day that has readings: total [kWh], intervals present and expected.

    Expects whole days (see :func:`iter_whole_groups`); a day split over two calls would give two rows.
    Expected intervals use the day's real length, so 2024-03-31 expects 46 half hours and 2024-10-27 expects 50.
    """
    dated = readings if "local_date" in readings else with_local_date(readings)
    grouped = dated.groupby(["site_id", "local_date"], sort=False)
    daily = grouped.agg(
        site_name=("site_name", "first"),
        meter_identifier=("meter_identifier", "first"),
        fuel=("fuel", "first"),
        time_zone=("time_zone", "first"),
        energy_kwh=("energy_kwh", "sum"),
        intervals=("start_ts", "size"),
        estimated_intervals=("estimated", "sum"),
        interval_seconds=("interval_seconds", "min"),
    ).reset_index()
    return compute_rolled_up_days(daily)


def compute_rolled_up_days(days: pd.DataFrame) -> pd.DataFrame:
    """Daily rows (:data:`DAILY_COLUMNS`) of days already summed (:data:`ROLLED_UP_DAY_COLUMNS`, local_date a
    datetime64): each day's expected intervals from its real length in the site's zone, and the coverage."""
    daily = days.reset_index(drop=True)
    day_seconds = np.zeros(len(daily), dtype="int64")
    for zone, rows in daily.groupby("time_zone", sort=False).groups.items():
        dates = daily.loc[rows, "local_date"]
        lengths = compute_day_lengths_seconds(dates.min().date(), dates.max().date(), str(zone))
        by_date = pd.Series(lengths.to_numpy(), index=pd.DatetimeIndex(lengths.index).as_unit("s"))
        day_seconds[daily.index.get_indexer(rows)] = by_date.reindex(pd.DatetimeIndex(dates).as_unit("s")).to_numpy()
    daily["expected_intervals"] = day_seconds // daily["interval_seconds"].to_numpy(dtype="int64")
    daily["coverage"] = daily["intervals"] / daily["expected_intervals"]
    daily["local_date"] = daily["local_date"].dt.date
    daily["estimated_intervals"] = daily["estimated_intervals"].astype("int64")
    return daily[list(DAILY_COLUMNS)]


def compute_portfolio_intervals(readings: pd.DataFrame) -> pd.DataFrame:
    """Sum readings per fuel and interval start, counting the sites that reported; gas and power never mix."""
    grouped = readings.groupby(["fuel", "start_ts"], sort=True)
    summed = grouped.agg(energy_kwh=("energy_kwh", "sum"), sites_reporting=("site_id", "nunique")).reset_index()
    return summed[list(PORTFOLIO_CHUNK_COLUMNS)]


def compute_portfolio_rows(aggregated: pd.DataFrame, time_zone: str) -> pd.DataFrame:
    """One row per fuel and interval with local and UTC start, from per-interval sums."""
    utc_seconds = aggregated["start_ts"].to_numpy(dtype="int64")
    wall, offset = compute_local_times(utc_seconds, time_zone)
    return pd.DataFrame(
        {
            "fuel": aggregated["fuel"].to_numpy(dtype=object),
            **_start_columns(utc_seconds, wall, offset),
            "energy_kwh": aggregated["energy_kwh"].to_numpy(dtype="float64"),
            "sites_reporting": aggregated["sites_reporting"].to_numpy(dtype="int64"),
        },
        columns=list(PORTFOLIO_COLUMNS),
    )


def iter_whole_groups(chunks: Iterable[pd.DataFrame], keys: Sequence[str]) -> Iterator[pd.DataFrame]:
    """Re-cut a key-ordered stream so no group of ``keys`` is split between two frames.

    The last group of each chunk is held back and put in front of the next one, so memory stays one chunk plus
    one group however long the stream is.
    """
    pending: pd.DataFrame | None = None
    for chunk in chunks:
        if chunk.empty:
            continue
        frame = chunk if pending is None else pd.concat([pending, chunk], ignore_index=True)
        last = frame.iloc[-1]
        tail = np.ones(len(frame), dtype=bool)
        for key in keys:
            tail &= (frame[key] == last[key]).to_numpy()
        first_of_tail = len(frame) - int(np.argmin(tail[::-1])) if not tail.all() else 0
        pending = frame.iloc[first_of_tail:]
        if first_of_tail:
            yield frame.iloc[:first_of_tail]
    if pending is not None and not pending.empty:
        yield pending


def iter_interval_rows(chunks: Iterable[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    """Interval rows chunk by chunk: each reading is its own row, so no regrouping is needed."""
    for chunk in chunks:
        if not chunk.empty:
            yield compute_interval_rows(chunk)


def iter_daily_rows(chunks: Iterable[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    """Daily rows, carrying a site's day across chunk boundaries so each day is one row.

    The chunks are readings (:data:`READING_CHUNK_COLUMNS`), or days the daily roll-up summed already
    (:data:`ROLLED_UP_DAY_COLUMNS`): one kind or the other in a stream, never both."""
    stream = iter(chunk for chunk in chunks if not chunk.empty)
    first = next(stream, None)
    if first is None:
        return
    rest = itertools.chain([first], stream)
    if "intervals" in first:
        for days in rest:
            if "intervals" not in days:
                raise ValueError("a daily export's chunks are readings or rolled-up days, not both")
            yield compute_rolled_up_days(days)
        return
    dated = (with_local_date(chunk) for chunk in rest)
    for whole_days in iter_whole_groups(dated, ("site_id", "local_date")):
        yield compute_daily_rows(whole_days)


def iter_portfolio_rows(chunks: Iterable[pd.DataFrame], time_zone: str) -> Iterator[pd.DataFrame]:
    """Portfolio rows chunk by chunk from per-interval sums."""
    for chunk in chunks:
        if not chunk.empty:
            yield compute_portfolio_rows(chunk, time_zone)
