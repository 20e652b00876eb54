"""Expected consumption of a site or portfolio on a graph's buckets, from the sites' model forecasts."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from portfolio.analytics.portfolio_forecast import compute_portfolio_forecast

EXPECTED_COLUMNS = ["start_ts", "expected_kwh", "lower_kwh", "upper_kwh", "sites"]
BUCKET_SECONDS = {"hh": 1800, "hour": 3600}
Z_90 = 1.6448536


def _to_buckets(frame: pd.DataFrame, seconds: int) -> pd.DataFrame:
    """Sum a site's forecast into buckets; within one bucket its errors are taken as fully correlated."""
    starts = frame.index.as_unit("s").asi8 // seconds * seconds
    grouped = frame[["expected_kwh", "standard_error_kwh"]].groupby(starts).sum()
    grouped.index = pd.DatetimeIndex(pd.to_datetime(grouped.index.to_numpy(dtype="int64"), unit="s", utc=True))
    return grouped


def compute_expected_series(site_forecasts: Mapping[int, pd.DataFrame], resolution: str) -> pd.DataFrame:
    """Portfolio expected energy per bucket [kWh] with a 90 % interval; site errors taken as independent.

    ``site_forecasts``: per site, frames from ``FittedTemperatureModel.predict`` (per local day when
    ``resolution`` is "day", otherwise per interval, UTC index). Returns start_ts (UTC epoch s of the
    bucket), expected_kwh, lower_kwh, upper_kwh and sites (forecasts summed in the bucket).
    """
    if not site_forecasts:
        return pd.DataFrame(columns=EXPECTED_COLUMNS)
    if resolution != "day":
        site_forecasts = {site: _to_buckets(frame, BUCKET_SECONDS[resolution]) for site, frame in site_forecasts.items()}
    combined = compute_portfolio_forecast({str(s): f for s, f in site_forecasts.items()}, None).forecast
    spread = Z_90 * combined["standard_error_kwh"]
    return pd.DataFrame({
        "start_ts": combined.index.as_unit("s").asi8,
        "expected_kwh": combined["expected_kwh"].to_numpy(),
        "lower_kwh": np.clip((combined["expected_kwh"] - spread).to_numpy(), 0, None),
        "upper_kwh": (combined["expected_kwh"] + spread).to_numpy(),
        "sites": combined["sites"].to_numpy(),
    })
