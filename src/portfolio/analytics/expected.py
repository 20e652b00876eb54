"""Expected consumption of a site or portfolio on a graph's buckets, from the sites' model forecasts.

Two steps, so a batch can add sites up in parts and store the sums (``portfolio.services.expected_series``) and a
request can turn stored or fresh sums into bounds the same way: :func:`compute_expected_sums` (per
bucket: expected energy, variance and sites, additive over disjoint sets of sites) and
:func:`compute_expected_bounds` (the 90 % interval). Site errors are taken as independent (variances
add); within one bucket a site's errors are taken as fully correlated (its standard errors add).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

EXPECTED_COLUMNS = ["start_ts", "expected_kwh", "lower_kwh", "upper_kwh", "sites"]
SUM_COLUMNS = ["start_ts", "expected_kwh", "variance_kwh2", "sites"]
BUCKET_SECONDS = {"hh": 1800, "hour": 3600}
Z_90 = 1.6448536


def _to_buckets(frame: pd.DataFrame, seconds: int) -> pd.DataFrame:
    """Sum a site's forecast into buckets; within one bucket its errors are taken as fully correlated."""
    starts = pd.DatetimeIndex(frame.index).as_unit("s").asi8 // seconds * seconds
    grouped = frame[["expected_kwh", "standard_error_kwh"]].groupby(starts).sum()
    grouped.index = pd.DatetimeIndex(pd.to_datetime(grouped.index.to_numpy(dtype="int64"), unit="s", utc=True))
    return grouped


def compute_site_buckets(forecast: pd.DataFrame, resolution: str) -> pd.DataFrame:
    """One site's forecast on graph buckets: start_ts [UTC epoch s], expected_kwh, variance_kwh2.

    ``forecast``: a frame from ``FittedTemperatureModel.predict`` (per local day when ``resolution`` is
    "day", otherwise per interval, UTC index). Rows without an expectation are left out.
    """
    if resolution == "day":
        frame = forecast[["expected_kwh", "standard_error_kwh"]].dropna(subset=["expected_kwh"])
    else:
        frame = _to_buckets(forecast, BUCKET_SECONDS[resolution])
    return pd.DataFrame(
        {
            "start_ts": pd.DatetimeIndex(frame.index).as_unit("s").asi8,
            "expected_kwh": frame["expected_kwh"].to_numpy(dtype="float64"),
            "variance_kwh2": np.square(frame["standard_error_kwh"].fillna(0.0).to_numpy(dtype="float64")),
        }
    )


def sum_site_buckets(buckets: pd.DataFrame) -> pd.DataFrame:
    """Add up many sites' bucket rows (from :func:`compute_site_buckets`): one row per bucket, sorted.

    ``sites`` counts the site rows summed in each bucket; variances add (site errors independent).
    """
    if buckets.empty:
        return pd.DataFrame(
            {c: pd.Series(dtype="int64" if c in ("start_ts", "sites") else "float64") for c in SUM_COLUMNS}
        )
    summed = buckets.groupby("start_ts", sort=True).agg(
        expected_kwh=("expected_kwh", "sum"), variance_kwh2=("variance_kwh2", "sum"), sites=("expected_kwh", "size")
    )
    return summed.reset_index()[SUM_COLUMNS].astype({"start_ts": "int64", "sites": "int64"})


def compute_expected_sums(site_forecasts: Mapping[int, pd.DataFrame], resolution: str) -> pd.DataFrame:
    """Per bucket: expected energy [kWh], variance [kWh²] and sites, summed over ``site_forecasts``.

    Sums of disjoint sets of sites add column by column, which is what the precomputed table relies on.
    """
    parts = [compute_site_buckets(frame, resolution) for frame in site_forecasts.values()]
    return sum_site_buckets(pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=SUM_COLUMNS))


def add_expected_sums(*sums: pd.DataFrame) -> pd.DataFrame:
    """Add bucket sums of disjoint sets of sites (e.g. two chunks, or stored scopes and live ones) per bucket."""
    parts = [frame for frame in sums if len(frame)]
    if len(parts) <= 1:
        return parts[0] if parts else sum_site_buckets(pd.DataFrame(columns=SUM_COLUMNS))
    added = pd.concat(parts, ignore_index=True).groupby("start_ts", sort=True)[SUM_COLUMNS[1:]].sum()
    return added.reset_index()[SUM_COLUMNS]


def compute_expected_bounds(sums: pd.DataFrame, z: float = Z_90) -> pd.DataFrame:
    """Turn bucket sums (start_ts, expected_kwh, variance_kwh2, sites) into the line and its interval.

    Returns start_ts, expected_kwh, lower_kwh (never below 0 kWh), upper_kwh and sites.
    """
    if sums.empty:
        return pd.DataFrame(columns=EXPECTED_COLUMNS)
    expected = sums["expected_kwh"].to_numpy(dtype="float64")
    spread = z * np.sqrt(np.clip(sums["variance_kwh2"].to_numpy(dtype="float64"), 0, None))
    return pd.DataFrame(
        {
            "start_ts": sums["start_ts"].to_numpy(dtype="int64"),
            "expected_kwh": expected,
            "lower_kwh": np.clip(expected - spread, 0, None),
            "upper_kwh": expected + spread,
            "sites": sums["sites"].to_numpy(dtype="int64"),
        }
    )


def compute_expected_total(sums: pd.DataFrame, z: float = Z_90) -> tuple[float, tuple[float, float]] | None:
    """Total over all buckets [kWh] with its interval: sites independent, buckets fully correlated.

    (Used for "expected next 7 days" from daily sums: each site's daily errors add across the days.)
    """
    if sums.empty:
        return None
    total = float(sums["expected_kwh"].sum())
    spread = float((z * np.sqrt(np.clip(sums["variance_kwh2"].to_numpy(dtype="float64"), 0, None))).sum())
    return total, (total - spread, total + spread)


def compute_expected_series(site_forecasts: Mapping[int, pd.DataFrame], resolution: str) -> pd.DataFrame:
    """Portfolio expected energy per bucket [kWh] with a 90 % interval; site errors taken as independent.

    ``site_forecasts``: per site, frames from ``FittedTemperatureModel.predict`` (per local day when
    ``resolution`` is "day", otherwise per interval, UTC index). Returns start_ts (UTC epoch s of the
    bucket), expected_kwh, lower_kwh, upper_kwh and sites (forecasts summed in the bucket).
    """
    return compute_expected_bounds(compute_expected_sums(site_forecasts, resolution))
