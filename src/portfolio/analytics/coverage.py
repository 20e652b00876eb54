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

from portfolio.timekeeping import local_midnight_ts

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
    return _totals(site_list, ["fuel"])


def _totals(site_list: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Metered total [kWh] (NaN when no site reported), sites and sites reporting per ``keys``, in one vectorised
    pass (the list is computed on every look at it)."""
    grouped = site_list.assign(_reporting=(site_list["intervals"] > 0).astype("int64")).groupby(keys)
    return pd.DataFrame(
        {
            "energy_kwh": grouped["energy_kwh"].sum(min_count=1),
            "sites": grouped.size(),
            "sites_reporting": grouped["_reporting"].sum(),
        }
    ).reset_index()


def compute_client_totals(site_list: pd.DataFrame) -> pd.DataFrame:
    """Metered totals per client organisation and fuel [kWh], with sites reporting: one row per (client, fuel).

    Gas and power are never added. A client's fuel none of whose sites reported has no total (NaN), never
    0 kWh. Clients come largest first by their largest fuel total, then by name.
    """
    totals = _totals(site_list, ["organisation", "fuel"])
    largest = totals.groupby("organisation")["energy_kwh"].transform("max")
    order = totals.assign(_largest=largest).sort_values(
        ["_largest", "organisation", "fuel"], ascending=[False, True, False], na_position="last"
    )
    return order.drop(columns="_largest").reset_index(drop=True)


BAND_Z = 1.6448536
"""The 90 % two-sided normal quantile: the band drawn around an estimate for missing sites."""


def compute_bucket_expected_intervals(
    bucket_ts: np.ndarray, resolution: str, time_zone: str, interval_seconds: int
) -> np.ndarray:
    """Intervals a meter of ``interval_seconds`` should report in each bucket (a UK day: 46, 48 or 50 half hours).

    ``bucket_ts``: bucket starts [UTC epoch s]; "day" buckets are local midnights, so their length is the
    distance to the next local midnight, not 24 hours.
    """
    starts = np.asarray(bucket_ts, dtype=np.int64)
    if resolution != "day":
        length = {"hh": 1800, "hour": 3600}[resolution]
        return np.full(len(starts), max(1, length // int(interval_seconds)), dtype=np.int64)
    local = pd.DatetimeIndex(starts.astype("datetime64[s]")).tz_localize("UTC").tz_convert(time_zone)
    nxt = (local.tz_localize(None).normalize() + pd.Timedelta(days=1)).tz_localize(
        time_zone, nonexistent="shift_forward", ambiguous=False
    )
    return (nxt.as_unit("s").asi8 - starts) // int(interval_seconds)


def compute_bucket_of(ts: np.ndarray, resolution: str, time_zone: str) -> np.ndarray:
    """The bucket start [UTC epoch s] of each interval start: half hour, hour, or local midnight."""
    starts = np.asarray(ts, dtype=np.int64)
    if resolution != "day":
        seconds = {"hh": 1800, "hour": 3600}[resolution]
        return (starts // seconds) * seconds
    local = pd.DatetimeIndex(starts.astype("datetime64[s]")).tz_localize("UTC").tz_convert(time_zone)
    midnight = local.tz_localize(None).normalize().tz_localize(time_zone, nonexistent="shift_forward", ambiguous=False)
    return np.asarray(midnight.as_unit("s").asi8, dtype=np.int64)


def compute_portfolio_coverage(
    bucket_ts: np.ndarray, site_buckets: pd.DataFrame, sites_total: int, modelled: set[int] | frozenset[int]
) -> pd.DataFrame:
    """Per bucket: how many sites reported all their intervals, some, or none; how many a model can stand in for.

    ``site_buckets``: one row per (site_id, start_ts) of every site that is *not* complete in some bucket
    (sites complete throughout are counted from ``sites_total``), with ``intervals`` (present) and
    ``expected_intervals``. A site with 1 of 48 half hours in a day is partial, not reporting.
    Returns start_ts, sites_total, sites_complete, sites_partial, sites_missing, sites_modelled_gap
    (incomplete sites with a model), sites_unmodelled_gap, partial_intervals / expected (for one site).
    """
    axis = pd.DataFrame({"start_ts": np.asarray(bucket_ts, dtype=np.int64)})
    if site_buckets.empty:
        gaps = pd.DataFrame(columns=["start_ts", "partial", "missing", "modelled_gap"])
    else:
        frame = site_buckets.assign(
            partial=(site_buckets["intervals"] > 0) & (site_buckets["intervals"] < site_buckets["expected_intervals"]),
            missing=site_buckets["intervals"] <= 0,
        )
        frame["modelled_gap"] = (frame["partial"] | frame["missing"]) & frame["site_id"].isin(list(modelled))
        gaps = frame.groupby("start_ts", as_index=False)[["partial", "missing", "modelled_gap"]].sum()
    merged = axis.merge(gaps, on="start_ts", how="left").fillna(0)
    result = pd.DataFrame({"start_ts": merged["start_ts"].astype("int64"), "sites_total": int(sites_total)})
    result["sites_partial"] = merged["partial"].astype("int64")
    result["sites_missing"] = merged["missing"].astype("int64")
    result["sites_complete"] = result["sites_total"] - result["sites_partial"] - result["sites_missing"]
    result["sites_modelled_gap"] = merged["modelled_gap"].astype("int64")
    result["sites_unmodelled_gap"] = result["sites_partial"] + result["sites_missing"] - result["sites_modelled_gap"]
    return result


def compute_missing_estimate(
    predictions: pd.DataFrame, present: pd.DataFrame, resolution: str, time_zone: str, level_z: float = BAND_Z
) -> pd.DataFrame:
    """Energy the models expect for the intervals with no reading, summed per bucket, with a 90 % band [kWh].

    ``predictions``: site_id, start_ts (interval start, UTC epoch s), expected_kwh, variance_kwh2, for the
    sites and window to estimate (nothing after "now"). ``present``: site_id, start_ts of readings that exist;
    those intervals are metered and never estimated. Within a site the errors of its missing intervals are
    taken as fully correlated (standard errors add); sites are independent (variances add), as in the
    portfolio summary. Returns start_ts, estimated_kwh, lower_kwh, upper_kwh, sites_estimated.
    """
    columns = ["start_ts", "estimated_kwh", "lower_kwh", "upper_kwh", "sites_estimated"]
    if predictions.empty:
        return pd.DataFrame({c: pd.Series(dtype="float64") for c in columns}).astype({"start_ts": "int64"})
    keys = pd.MultiIndex.from_frame(predictions[["site_id", "start_ts"]].astype("int64"))
    metered = pd.MultiIndex.from_frame(present[["site_id", "start_ts"]].astype("int64")) if len(present) else None
    gaps = predictions[~keys.isin(metered)] if metered is not None else predictions
    gaps = gaps.dropna(subset=["expected_kwh"])
    if gaps.empty:
        return compute_missing_estimate(predictions.iloc[0:0], present, resolution, time_zone, level_z)
    frame = pd.DataFrame(
        {
            "site_id": gaps["site_id"].to_numpy(dtype=np.int64),
            "bucket": compute_bucket_of(gaps["start_ts"].to_numpy(dtype=np.int64), resolution, time_zone),
            "expected_kwh": gaps["expected_kwh"].to_numpy(dtype=np.float64),
            "se_kwh": np.sqrt(np.clip(gaps["variance_kwh2"].to_numpy(dtype=np.float64), 0, None)),
        }
    )
    per_site = frame.groupby(["bucket", "site_id"], as_index=False)[["expected_kwh", "se_kwh"]].sum()
    per_site["variance"] = per_site["se_kwh"] ** 2
    buckets = per_site.groupby("bucket").agg(
        estimated_kwh=("expected_kwh", "sum"), variance=("variance", "sum"), sites_estimated=("site_id", "nunique")
    )
    spread = level_z * np.sqrt(buckets["variance"])
    return pd.DataFrame(
        {
            "start_ts": buckets.index.to_numpy(dtype=np.int64),
            "estimated_kwh": buckets["estimated_kwh"].to_numpy(),
            "lower_kwh": (buckets["estimated_kwh"] - spread).to_numpy(),
            "upper_kwh": (buckets["estimated_kwh"] + spread).to_numpy(),
            "sites_estimated": buckets["sites_estimated"].to_numpy(dtype=np.int64),
        }
    )


def compute_graph_totals(frame: pd.DataFrame) -> dict[str, float | None]:
    """Metered and estimated-for-missing energy over the drawn buckets [kWh], kept apart (None: nothing)."""
    metered = frame["energy_kwh"].sum(min_count=1)
    estimated = frame["estimated_kwh"].sum(min_count=1) if "estimated_kwh" in frame else float("nan")
    return {
        "metered_kwh": None if pd.isna(metered) else float(metered),
        "estimated_kwh": None if pd.isna(estimated) else float(estimated),
    }


MAX_SPANS_PER_SITE = 64
"""Beyond this many separate runs of incomplete days a site's spans merge into one (fewer, longer range reads)."""


def compute_day_spans(days: list[dt.date], lo: int, hi: int, time_zone: str) -> list[tuple[int, int]]:
    """Runs of consecutive local days as [UTC s) ranges clipped to [lo, hi); a day is 23, 24 or 25 hours."""
    runs: list[list[dt.date]] = []
    for day in sorted(days):
        if runs and day - runs[-1][1] == dt.timedelta(days=1):
            runs[-1][1] = day
        else:
            runs.append([day, day])
    if len(runs) > MAX_SPANS_PER_SITE:
        runs = [[runs[0][0], runs[-1][1]]]
    spans = [
        (
            max(lo, local_midnight_ts(first, time_zone)),
            min(hi, local_midnight_ts(last + dt.timedelta(days=1), time_zone)),
        )
        for first, last in runs
    ]
    return [(a, b) for a, b in spans if b > a]
