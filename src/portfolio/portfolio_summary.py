"""The portfolio summary: metered total, model estimate for missing intervals, expected next 7 days.

The three figures are kept apart (never one blended number), per fuel, with the number of sites behind
each and the error assumption behind each range stated in the result.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from portfolio.analytics.expected import compute_expected_sums, compute_expected_total
from portfolio.analytics.portfolio_forecast import compute_missing_interval_estimate
from portfolio.analytics.resolution import local_midnight_ts
from portfolio.forecasting import load_fitted_models, predict_expected
from portfolio.queries import forecasting as queries

FORECAST_DAYS = 7
MISSING_RANGE_NOTE = "site errors independent; errors of one site fully correlated across its missing intervals"
EXPECTED_RANGE_NOTE = "site errors independent; each site's daily errors fully correlated across the 7 days"


@dataclass(frozen=True)
class FuelSummary:
    """One fuel's figures [kWh]; None where nothing could be said."""

    fuel: str
    sites: int
    metered_kwh: float | None
    sites_metered: int
    estimated_missing_kwh: float | None
    estimated_missing_range_kwh: tuple[float, float] | None
    sites_estimated: int  # sites with missing intervals that a model filled in the estimate
    sites_unestimated: int  # sites with missing intervals and no model: not in any estimate
    expected_next_kwh: float | None
    expected_next_range_kwh: tuple[float, float] | None
    sites_forecast: int
    missing_range_note: str = MISSING_RANGE_NOTE
    expected_range_note: str = EXPECTED_RANGE_NOTE


def _grid(start_ts: int, end_ts: int, seconds: int) -> pd.DatetimeIndex:
    return pd.date_range(
        pd.Timestamp(start_ts, unit="s", tz="UTC"),
        pd.Timestamp(end_ts, unit="s", tz="UTC"),
        freq=pd.Timedelta(seconds=seconds),
        inclusive="left",
    )


def _missing_estimate(
    session: Session, sites: pd.DataFrame, start_ts: int, end_ts: int
) -> tuple[float | None, tuple[float, float] | None, int, int, float | None, int]:
    """Metered and estimated-missing totals over the range, grouped by interval length so grids line up."""
    readings = queries.load_readings_matrix(session, sites["site_id"].tolist(), start_ts, end_ts)
    forecasts = predict_expected(session, sites["site_id"].tolist(), start_ts, end_ts)
    metered = float(readings["energy_kwh"].sum()) if len(readings) else None
    estimated_total, low, high, estimated_sites, unestimated_sites = 0.0, 0.0, 0.0, 0, 0
    any_estimate = False
    for seconds, members in sites.groupby("interval_seconds"):
        grid = _grid(start_ts, end_ts, int(seconds))
        own = readings[readings["site_id"].isin(members["site_id"])]
        matrix = own.pivot_table(index="start_ts", columns="site_id", values="energy_kwh", aggfunc="sum")
        matrix.index = pd.to_datetime(matrix.index.to_numpy(dtype="int64"), unit="s", utc=True)
        matrix = matrix.reindex(index=grid, columns=members["site_id"].tolist())
        site_forecasts = {s: forecasts[s] for s in members["site_id"] if s in forecasts}
        estimate = compute_missing_interval_estimate(matrix, site_forecasts)
        per_site = estimate.estimated_kwh
        missing_sites = matrix.columns[matrix.isna().any()]
        estimated_here = [s for s in missing_sites if per_site[s].notna().any()] if len(per_site.columns) else []
        estimated_sites += len(estimated_here)
        unestimated_sites += len(missing_sites) - len(estimated_here)
        if estimated_here:
            any_estimate = True
            estimated_total += float(per_site[estimated_here].sum().sum())
            # per site: errors across its missing intervals fully correlated (sum of se); sites independent
            site_se = {
                s: float(forecasts[s]["standard_error_kwh"].reindex(grid)[matrix[s].isna()].sum())
                for s in estimated_here
            }
            spread = 1.6448536 * float(np.sqrt(sum(v * v for v in site_se.values())))
            low -= spread
            high += spread
    if not any_estimate:
        return metered, None, estimated_sites, unestimated_sites, None, int(readings["site_id"].nunique())
    return (
        metered,
        (estimated_total + low, estimated_total + high),
        estimated_sites,
        unestimated_sites,
        estimated_total,
        int(readings["site_id"].nunique()),
    )


def _expected_next(
    session: Session, site_ids: Sequence[int], from_ts: int, time_zone: str
) -> tuple[float | None, tuple[float, float] | None, int]:
    first = dt.datetime.fromtimestamp(from_ts, ZoneInfo(time_zone)).date()
    end_ts = local_midnight_ts(first + dt.timedelta(days=FORECAST_DAYS), time_zone)  # 7 local days, clock changes too
    daily = predict_expected(session, list(site_ids), from_ts, end_ts, per_local_day=True)
    if not daily:
        return None, None, 0
    # per day sites independent, across the days each site's errors fully correlated (stated in the summary)
    summed = compute_expected_total(compute_expected_sums(daily, "day"))
    if summed is None:
        return None, None, 0
    return summed[0], summed[1], len(daily)


def compute_portfolio_summary(
    session: Session,
    sites: pd.DataFrame,
    start_ts: int,
    end_ts: int,
    today_start_ts: int,
    time_zone: str = "Europe/London",
) -> list[FuelSummary]:
    """Figures per fuel for ``sites`` (site_id, fuel, interval_seconds) over [start_ts, end_ts) and the next week.

    Only sites with a stored model contribute estimates; the counts say how many did and did not.
    """
    summaries = []
    models = load_fitted_models(session, sites["site_id"].tolist())
    for fuel, members in sites.groupby("fuel", sort=True):
        metered, missing_range, estimated_sites, unestimated_sites, missing_kwh, metered_sites = _missing_estimate(
            session, members, start_ts, end_ts
        )
        modelled = [s for s in members["site_id"] if s in models]
        expected, expected_range, forecast_sites = _expected_next(session, modelled, today_start_ts, time_zone)
        summaries.append(
            FuelSummary(
                fuel=str(fuel),
                sites=len(members),
                metered_kwh=metered,
                sites_metered=metered_sites,
                estimated_missing_kwh=missing_kwh,
                estimated_missing_range_kwh=missing_range,
                sites_estimated=estimated_sites,
                sites_unestimated=unestimated_sites,
                expected_next_kwh=expected,
                expected_next_range_kwh=expected_range,
                sites_forecast=forecast_sites,
            )
        )
    return summaries
