"""The expected-consumption panel's figures: metered, the estimate of what is missing, the next 7 days.

Everything is read from storage (the daily roll-up, the per-day estimates of missing intervals of
``services/missing_estimates.py``, the stored predictions of ``services/expected_series.py``); no model predicts here.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from portfolio.analytics.expected import compute_expected_total
from portfolio.queries import expected as queries
from portfolio.services.computed_results import kept_or_computed
from portfolio.services.missing_estimates import load_site_estimates, site_steps
from portfolio.timekeeping import UK_TIME_ZONE, local_date_span, local_midnight_ts

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


def _missing_estimate(
    session: Session, sites: pd.DataFrame, start_ts: int, end_ts: int, time_zone: str = UK_TIME_ZONE
) -> tuple[float | None, tuple[float, float] | None, int, int, float | None, int]:
    """Metered (the daily roll-up) and estimated-missing totals over the range.

    The estimate adds each site's missing intervals per day, stored by the batch where still valid and computed now
    for the rest (``services/missing_estimates.py``); a site's errors are fully correlated across its missing
    intervals (its standard errors add), sites independent.
    """
    ids = [int(s) for s in sites["site_id"]]
    first, last = local_date_span(start_ts, end_ts, time_zone)
    metered, metered_sites = queries.load_daily_metered(session, ids, first, last)
    per_site = load_site_estimates(session, site_steps(session, sites), start_ts, end_ts, time_zone).per_site
    estimated = per_site[per_site["estimated_kwh"].notna()]
    estimated_sites, unestimated_sites = len(estimated), len(per_site) - len(estimated)
    if not estimated_sites:
        return metered, None, estimated_sites, unestimated_sites, None, metered_sites
    total = float(estimated["estimated_kwh"].sum())
    spread = 1.6448536 * float(np.sqrt(np.square(estimated["estimated_se_kwh"].fillna(0.0).to_numpy()).sum()))
    return metered, (total - spread, total + spread), estimated_sites, unestimated_sites, total, metered_sites


def _expected_next(
    session: Session, site_ids: Sequence[int], from_ts: int, time_zone: str
) -> tuple[float | None, tuple[float, float] | None, int]:
    first = dt.datetime.fromtimestamp(from_ts, ZoneInfo(time_zone)).date()
    end_ts = local_midnight_ts(first + dt.timedelta(days=FORECAST_DAYS), time_zone)  # 7 local days, clock changes too
    # summed per day in SQL (7 rows, not 7 per site): per day sites independent, across the days each site's errors
    # fully correlated (stated in the summary)
    sums = queries.load_site_expected_sums(session, list(site_ids), "day", from_ts, end_ts)
    summed = compute_expected_total(sums)
    if summed is None:
        return None, None, 0
    return summed[0], summed[1], queries.count_sites_expected(session, list(site_ids), "day", from_ts, end_ts)


SUMMARY_RESULT = "expected_summary"
"""The kind of a panel's figures kept in ``computed_results``."""


def compute_portfolio_summary(
    session: Session,
    sites: pd.DataFrame,
    start_ts: int,
    end_ts: int,
    today_start_ts: int,
    time_zone: str = UK_TIME_ZONE,
    *,
    as_before: int | None = None,
    sites_before: pd.DataFrame | None = None,
    version: int | None = None,
) -> list[FuelSummary]:
    """Figures per fuel for ``sites`` (site_id, fuel, interval_seconds) over [start_ts, end_ts) and the next week.

    Only sites with stored predictions (a usable model) contribute estimates; the counts say how many did and did
    not. Everything is read from storage: no model predicts here. Kept for the next request while the data stays
    the same (``services/computed_results.py``): a 1,000-site panel adds up its estimates once. ``as_before``: see
    ``kept_or_computed`` (a web request while the daily run writes); ``sites_before``: ``sites`` without those the
    run has created since (same columns), when they differ; ``version``: the data's version, when this transaction
    read it already.
    """
    window = [int(start_ts), int(end_ts), int(today_start_ts)]
    return kept_or_computed(
        session,
        SUMMARY_RESULT,
        _summary_inputs(sites, window, time_zone),
        lambda: _compute_summaries(session, sites, start_ts, end_ts, today_start_ts, time_zone),
        _encode,
        _decode,
        dt.datetime.now(dt.UTC),
        as_before=as_before,
        inputs_before=None if sites_before is None else _summary_inputs(sites_before, window, time_zone),
        version=version,
    )


def _summary_inputs(sites: pd.DataFrame, window: list[int], time_zone: str) -> dict[str, object]:
    return {
        "sites": sorted(
            [int(s), str(f), int(i)]
            for s, f, i in zip(sites["site_id"], sites["fuel"], sites["interval_seconds"], strict=True)
        ),
        "window": window,
        "time_zone": time_zone,
    }


def _encode(summaries: list[FuelSummary]) -> str:
    return json.dumps([dataclasses.asdict(summary) for summary in summaries])


def _decode(payload: str) -> list[FuelSummary] | None:
    """Kept figures, or None when they cannot be read (they are then computed afresh)."""
    try:
        rows: list[dict[str, Any]] = json.loads(payload)
        summaries = []
        for row in rows:
            fields = dict(row)
            for key in ("estimated_missing_range_kwh", "expected_next_range_kwh"):
                fields[key] = None if fields[key] is None else (float(fields[key][0]), float(fields[key][1]))
            summaries.append(FuelSummary(**fields))
        return summaries
    except (ValueError, TypeError, AttributeError, KeyError, IndexError):
        return None


def _compute_summaries(
    session: Session, sites: pd.DataFrame, start_ts: int, end_ts: int, today_start_ts: int, time_zone: str
) -> list[FuelSummary]:
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
