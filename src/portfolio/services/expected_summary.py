"""The expected-consumption panel's figures: metered, the estimate of what is missing, the next 7 days.

Everything is read from storage (the daily roll-up, the reading times of the days a site fell short on, the
stored predictions of ``services/expected_series.py``); no model predicts here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from portfolio.analytics.coverage import compute_day_spans
from portfolio.analytics.expected import compute_expected_total
from portfolio.analytics.portfolio_forecast import compute_missing_interval_estimate
from portfolio.queries import expected as queries
from portfolio.queries.graphs import load_reading_starts_in
from portfolio.services.coverage import load_short_days
from portfolio.timekeeping import SECONDS_PER_DAY, UK_TIME_ZONE, local_date_span, local_midnight_ts

STORED_RESOLUTION = {1800: "hh", 3600: "hour"}
"""The stored predictions on a site's own interval grid (``site_expected``)."""


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


@dataclass(frozen=True)
class _Gaps:
    """The days a site fell short on, and what it did report then (only those days are ever read per interval)."""

    metered_kwh: float | None  # over the whole range, from the daily roll-up [kWh]
    metered_sites: int
    seconds: dict[int, int]  # each short site's grid [s]: its meter's interval, or a day if it opted out
    spans: dict[int, list[tuple[int, int]]]  # each short site's short local days as [UTC s) ranges
    present: pd.DataFrame  # site_id, start_ts of what the short sites reported on those days


def _short_days(session: Session, sites: pd.DataFrame, start_ts: int, end_ts: int, time_zone: str) -> _Gaps:
    """Metered energy from the daily roll-up, and the local days on which each site missed intervals.

    Sites that opted out of half-hourly data (micro-businesses) are counted per local day (their interval
    readings are gone or must not be used): a day without its daily total is their gap, estimated from the
    stored daily predictions.
    """
    ids = [int(s) for s in sites["site_id"]]
    daily_only = queries.load_daily_only_site_ids(session, ids)
    first, last = local_date_span(start_ts, end_ts, time_zone)
    metered, metered_sites = queries.load_daily_metered(session, ids, first, last)
    days = queries.load_daily_matrix(session, sorted(daily_only & set(ids)), first, last)  # their gaps are days
    seconds = {
        int(s): SECONDS_PER_DAY if int(s) in daily_only else int(i)
        for s, i in zip(sites["site_id"], sites["interval_seconds"], strict=True)
    }
    spans = {
        site_id: compute_day_spans(short, start_ts, end_ts, time_zone)
        for site_id, short in load_short_days(session, seconds, dict.fromkeys(seconds, time_zone), first, last).items()
    }
    interval_spans = {s: v for s, v in spans.items() if seconds[s] != SECONDS_PER_DAY}
    present = load_reading_starts_in(session, interval_spans, queries.MAX_MODEL_INTERVAL_SECONDS)
    day_rows = days[days["site_id"].isin([s for s in spans if seconds[s] == SECONDS_PER_DAY])]
    if len(day_rows):
        midnights = [local_midnight_ts(d, time_zone) for d in day_rows["local_date"]]
        present = pd.concat(
            [present, pd.DataFrame({"site_id": day_rows["site_id"].to_numpy(dtype="int64"), "start_ts": midnights})],
            ignore_index=True,
        )
    return _Gaps(metered, metered_sites, {s: seconds[s] for s in spans}, spans, present)


def _span_grid(spans: list[tuple[int, int]], step: int, time_zone: str) -> np.ndarray:
    """The interval starts [UTC s] in the spans: every ``step`` seconds, or each local midnight for days."""
    if step != SECONDS_PER_DAY:
        return np.concatenate([np.arange(lo, hi, step, dtype=np.int64) for lo, hi in spans])
    starts: list[int] = []
    for lo, hi in spans:
        first, last = local_date_span(lo, hi, time_zone)
        starts.extend(
            local_midnight_ts(first + dt.timedelta(days=n), time_zone) for n in range((last - first).days + 1)
        )
    return np.asarray(starts, dtype=np.int64)


def _missing_estimate(
    session: Session, sites: pd.DataFrame, start_ts: int, end_ts: int, time_zone: str = UK_TIME_ZONE
) -> tuple[float | None, tuple[float, float] | None, int, int, float | None, int]:
    """Metered and estimated-missing totals over the range, grouped by interval length so grids line up.

    Only the days a site fell short on are read per interval (its reading times and its stored predictions):
    a year of a healthy portfolio costs one look at the daily roll-up.
    """
    gaps = _short_days(session, sites, start_ts, end_ts, time_zone)
    estimated_total, low, high, estimated_sites, unestimated_sites = 0.0, 0.0, 0.0, 0, 0
    any_estimate = False
    for step in sorted(set(gaps.seconds.values())):
        members = [s for s, v in gaps.seconds.items() if v == step]
        own_grids = {s: _span_grid(gaps.spans[s], step, time_zone) for s in members}
        grid_ts = np.unique(np.concatenate(list(own_grids.values())))
        grid = pd.DatetimeIndex(pd.to_datetime(grid_ts, unit="s", utc=True))
        # 1.0 = reported (or outside the site's short days), NaN = missing: presence is all the estimate needs
        reported = gaps.present[gaps.present["site_id"].isin(members)]
        columns = {}
        for site_id in members:
            seen = reported.loc[reported["site_id"] == site_id, "start_ts"].to_numpy(dtype=np.int64)
            gap = np.isin(grid_ts, own_grids[site_id]) & ~np.isin(grid_ts, seen)
            columns[site_id] = np.where(gap, np.nan, 1.0)
        matrix = pd.DataFrame(columns, index=grid)
        resolution = "day" if step == SECONDS_PER_DAY else STORED_RESOLUTION.get(step, "")
        forecasts = _stored_forecasts_in(session, {s: gaps.spans[s] for s in members}, resolution)
        site_forecasts: dict[Any, pd.DataFrame] = {s: forecasts[s] for s in members if s in forecasts}
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
                s: float(forecasts[int(s)]["standard_error_kwh"].reindex(grid)[matrix[s].isna()].sum())
                for s in estimated_here
            }
            spread = 1.6448536 * float(np.sqrt(sum(v * v for v in site_se.values())))
            low -= spread
            high += spread
    if not any_estimate:
        return gaps.metered_kwh, None, estimated_sites, unestimated_sites, None, gaps.metered_sites
    return (
        gaps.metered_kwh,
        (estimated_total + low, estimated_total + high),
        estimated_sites,
        unestimated_sites,
        estimated_total,
        gaps.metered_sites,
    )


def _stored_forecasts_in(
    session: Session, spans: dict[int, list[tuple[int, int]]], resolution: str
) -> dict[int, pd.DataFrame]:
    """Stored predictions per site as ``predict`` frames (UTC index; expected_kwh, standard_error_kwh [kWh]),
    within each site's spans only; read, never predicted: a site without stored predictions is absent."""
    if resolution not in ("hh", "hour", "day") or not spans:
        return {}
    rows = queries.load_site_expected_in(session, spans, resolution)
    return {
        int(cast(int, site_id)): pd.DataFrame(
            {
                "expected_kwh": part["expected_kwh"].to_numpy(),
                "standard_error_kwh": np.sqrt(part["variance_kwh2"].to_numpy()),
            },
            index=pd.DatetimeIndex(part["start"]),
        )
        for site_id, part in rows.groupby("site_id", sort=True)
    }


def _expected_next(
    session: Session, site_ids: Sequence[int], from_ts: int, time_zone: str
) -> tuple[float | None, tuple[float, float] | None, int]:
    first = dt.datetime.fromtimestamp(from_ts, ZoneInfo(time_zone)).date()
    end_ts = local_midnight_ts(first + dt.timedelta(days=FORECAST_DAYS), time_zone)  # 7 local days, clock changes too
    daily = queries.load_site_expected(session, list(site_ids), from_ts, end_ts, "day")
    if daily.empty:
        return None, None, 0
    # per day sites independent, across the days each site's errors fully correlated (stated in the summary)
    sums = daily.groupby("start", sort=True).agg(
        expected_kwh=("expected_kwh", "sum"), variance_kwh2=("variance_kwh2", "sum")
    )
    summed = compute_expected_total(sums.reset_index())
    if summed is None:
        return None, None, 0
    return summed[0], summed[1], int(daily["site_id"].nunique())


def compute_portfolio_summary(
    session: Session,
    sites: pd.DataFrame,
    start_ts: int,
    end_ts: int,
    today_start_ts: int,
    time_zone: str = UK_TIME_ZONE,
) -> list[FuelSummary]:
    """Figures per fuel for ``sites`` (site_id, fuel, interval_seconds) over [start_ts, end_ts) and the next week.

    Only sites with stored predictions (a usable model) contribute estimates; the counts say how many did and did
    not. Everything is read from storage: no model predicts here.
    """
    summaries = []
    for fuel, members in sites.groupby("fuel", sort=True):
        metered, missing_range, estimated_sites, unestimated_sites, missing_kwh, metered_sites = _missing_estimate(
            session, members, start_ts, end_ts, time_zone
        )
        expected, expected_range, forecast_sites = _expected_next(
            session, members["site_id"].tolist(), today_start_ts, time_zone
        )
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
