"""Data coverage, totals and missing sites for a portfolio over a range of local days.

Coverage is intervals present / intervals expected *in the site's local time*: a UK day has 46, 48
or 50 half hours (23, 24 or 25 hours), so clock-change days expect fewer or more. Nothing here fills
a gap: a site with no rows has no total (NaN), not a zero.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

SITE_LIST_COLUMNS = [
    "site_id",
    "name",
    "fuel",
    "meter_type",
    "interval_seconds",
    "energy_kwh",
    "share",
    "intervals",
    "expected_intervals",
    "coverage",
    "last_reading",
]


def compute_day_lengths_seconds(start: dt.date, end: dt.date, time_zone: str) -> pd.Series:
    """Length of each local day from ``start`` to ``end`` inclusive [s]: 82800, 86400 or 90000 in the UK."""
    zone = ZoneInfo(time_zone)
    days = pd.date_range(start, end + dt.timedelta(days=1), freq="D")
    midnights = days.tz_localize(zone, nonexistent="shift_forward", ambiguous=False)
    lengths = np.diff(midnights.as_unit("s").asi8)
    return pd.Series(lengths, index=pd.Index(days[:-1].date, name="local_date"), name="seconds")


def compute_expected_intervals(start: dt.date, end: dt.date, time_zone: str, interval_seconds: int) -> int:
    """Intervals a meter of ``interval_seconds`` should report over the local days ``start``..``end``."""
    if end < start:
        return 0
    return int(compute_day_lengths_seconds(start, end, time_zone).sum() // interval_seconds)


def compute_site_list(sites: pd.DataFrame, usage: pd.DataFrame, start: dt.date, end: dt.date) -> pd.DataFrame:
    """One row per site: total [kWh] in range, share of its fuel's total, coverage, last reading.

    ``sites``: site_id, name, fuel, meter_type, time_zone, interval_seconds (typical, may be NaN when
    unknown), last_reading (UTC timestamp or NaT). ``usage``: per site over the range: site_id,
    energy_kwh, intervals, interval_seconds (from the daily roll-up, aggregated in the database).
    Shares are within a fuel: gas and power kWh are never added into one number.
    """
    merged = sites.merge(usage, on="site_id", how="left", suffixes=("_site", ""))
    interval = merged["interval_seconds"].fillna(merged["interval_seconds_site"])
    merged["interval_seconds"] = interval
    merged["intervals"] = merged["intervals"].fillna(0).astype("int64")
    # Sites share a handful of (zone, interval) pairs: compute each once, not once per site.
    expected = {
        (tz, seconds): compute_expected_intervals(start, end, tz, int(seconds))
        for tz, seconds in set(zip(merged["time_zone"], interval, strict=True))
        if pd.notna(seconds)
    }
    merged["expected_intervals"] = [
        expected.get((tz, seconds), np.nan) for tz, seconds in zip(merged["time_zone"], interval, strict=True)
    ]
    merged["coverage"] = merged["intervals"] / merged["expected_intervals"]
    merged.loc[merged["intervals"] == 0, "coverage"] = 0.0
    fuel_totals = merged.groupby("fuel")["energy_kwh"].transform("sum", min_count=1)
    merged["share"] = merged["energy_kwh"] / fuel_totals
    return (
        merged[SITE_LIST_COLUMNS]
        .sort_values(["fuel", "energy_kwh"], ascending=[True, False], na_position="last")
        .reset_index(drop=True)
    )


def compute_missing_sites(site_list: pd.DataFrame) -> pd.DataFrame:
    """Sites with no reading at all in the range (partial coverage is not 'missing')."""
    return site_list.loc[site_list["intervals"] == 0].reset_index(drop=True)


def compute_fuel_totals(site_list: pd.DataFrame) -> pd.DataFrame:
    """Totals per fuel [kWh], with how many sites reported: one row per fuel, never a gas+power sum."""
    grouped = site_list.groupby("fuel")
    return pd.DataFrame(
        {
            "energy_kwh": grouped["energy_kwh"].sum(min_count=1),
            "sites": grouped.size(),
            "sites_reporting": grouped["intervals"].apply(lambda counts: int((counts > 0).sum())),
        }
    ).reset_index()
