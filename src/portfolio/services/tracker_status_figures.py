"""A tracker scope's figures in a period: consumption so far, expected consumption and the projection.

What every tracker of the same sites, fuel and period shares (:class:`ScopeFigures`), computed once per run
through the run's :class:`EvaluationCache`. Sites that have not reported are missing, never zero; the days a
site has not reported are projected from its model's expected consumption [kWh] or, without a model, its
run-rate so far. :mod:`portfolio.services.tracker_status` turns these into a ``TrackerStatus`` for one
amount and re-exports these names.

Every expected figure goes through :func:`expected_per_day`, the one place that asks the models, so the
source of predictions can change without touching the rest.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from sqlalchemy.orm import Session

from portfolio.access import AccessDenied, Viewer
from portfolio.analytics.trackers import PeriodBounds, compute_projection, compute_running_total
from portfolio.queries import trackers as tracker_queries
from portfolio.services.expected import predict_expected
from portfolio.timekeeping import UK_TIME_ZONE

DailyExpected = dict[dt.date, tuple[float, float]]
"""Per local day: (expected consumption [kWh], its prediction variance [kWh²])."""


@dataclass(frozen=True)
class SiteUsage:
    """One site's daily roll-ups over a period's days so far: total [kWh], the days it reported, and the
    scatter of its daily totals [kWh²] (for the run-rate band)."""

    total_kwh: float
    days: frozenset[dt.date]
    daily_variance_kwh2: float


@dataclass
class EvaluationCache:
    """What many trackers evaluated together share (one run, one request): predictions and daily usage.

    Lives for one run or request only; never a module global (several workers).
    """

    predictions: dict[tuple[int, int, int], DailyExpected | None] = field(default_factory=dict)
    usage: dict[tuple[dt.date, dt.date], dict[int, SiteUsage | None]] = field(default_factory=dict)
    sites: dict[int, tuple[str, str]] = field(default_factory=dict)  # site id -> (name, fuel)
    visible: dict[int, list[int]] = field(default_factory=dict)  # (owner) user id -> sites of "All sites"
    viewers: dict[int, Viewer] = field(default_factory=dict)  # per owner, resolved once per run
    # (viewer's user id, scope kind, scope id, fuel) -> member sites, or the refusal
    scopes: dict[tuple[int, str, int | None, str], tuple[int, ...] | AccessDenied] = field(default_factory=dict)
    labels: dict[tuple[str, int], str] = field(default_factory=dict)  # ("group", id) -> scope label
    bounds: dict[tuple[str, dt.date], PeriodBounds] = field(default_factory=dict)  # (period, day) -> bounds
    figures: dict[tuple[Any, ...], ScopeFigures] = field(default_factory=dict)  # see compute_scope_figures


def expected_per_day(
    session: Session, site_ids: list[int], lo_ts: int, hi_ts: int, cache: EvaluationCache | None = None
) -> dict[int, DailyExpected]:
    """Expected kWh and its variance [kWh²] per site and local day over [lo_ts, hi_ts), for modelled sites.

    The one path from trackers to the forecast models (today: predicted from stored fits and the temperature
    forecast). Plain dicts, not frames: a run reads them once per tracker, thousands of times.
    """
    if hi_ts <= lo_ts or not site_ids:
        return {}
    cache = cache if cache is not None else EvaluationCache()
    missing = [s for s in site_ids if (s, lo_ts, hi_ts) not in cache.predictions]
    if missing:
        predicted = predict_expected(session, missing, lo_ts, hi_ts, per_local_day=True)
        for site_id in missing:
            frame = predicted.get(site_id)
            if frame is None or frame.empty:
                cache.predictions[(site_id, lo_ts, hi_ts)] = None
                continue
            days = pd.DatetimeIndex(frame.index).tz_convert(UK_TIME_ZONE).date
            cache.predictions[(site_id, lo_ts, hi_ts)] = {
                day: (float(e), float(se) ** 2)
                for day, e, se in zip(
                    days,
                    frame["expected_kwh"].to_numpy(dtype=float),
                    frame["standard_error_kwh"].to_numpy(dtype=float),
                    strict=True,
                )
            }
    result = {s: cache.predictions[(s, lo_ts, hi_ts)] for s in site_ids}
    return {s: frame for s, frame in result.items() if frame is not None}


def _site_usage(
    session: Session, members: list[int], first: dt.date, last: dt.date, cache: EvaluationCache | None
) -> dict[int, SiteUsage]:
    """Per member site that reported over first..last, its usage summary (loaded once per run and range)."""
    known: dict[int, SiteUsage | None] = {} if cache is None else cache.usage.setdefault((first, last), {})
    wanted = [s for s in members if s not in known]
    if wanted:
        usage = tracker_queries.load_daily_usage(session, wanted, first, last)
        found: dict[int, list[tuple[dt.date, float]]] = {}
        for site_id, day, kwh in zip(usage["site_id"], usage["local_date"], usage["energy_kwh"], strict=True):
            found.setdefault(int(site_id), []).append((day, float(kwh)))
        for site_id in wanted:
            rows = found.get(site_id)
            if not rows:
                known[site_id] = None
                continue
            values = [kwh for _, kwh in rows]
            mean = sum(values) / len(values)
            variance = sum((v - mean) ** 2 for v in values) / (len(values) - 1) if len(values) > 1 else 0.0
            known[site_id] = SiteUsage(sum(values), frozenset(d for d, _ in rows), variance)
    return {s: u for s in members if (u := known.get(s)) is not None}


@dataclass(frozen=True)
class ScopeFigures:
    """A period's figures for a set of sites, the same for every tracker of those sites, fuel and period:
    everything of a :class:`TrackerStatus` except what follows from the amount. Computed once per run."""

    sites_reporting_period: int
    sites_reporting_day: int
    error: str | None = None
    expected_period_kwh: float | None = None  # percent mode: the models' expected consumption of the period
    expected_to_date_kwh: float | None = None  # percent mode: the part of it for the days so far
    consumption_kwh: float | None = None
    projection_kwh: float | None = None
    projection_lower_kwh: float | None = None
    projection_upper_kwh: float | None = None
    projection_method: str = "none"
    running_kwh: pd.Series | None = None  # expected running total at the end of each remaining day [kWh]
    modelled_sites: int = 0
    notes: tuple[str, ...] = ()


def compute_scope_figures(
    session: Session,
    members: list[int],
    bounds: PeriodBounds,
    data_day: dt.date,
    percent: bool,
    cache: EvaluationCache | None = None,
) -> ScopeFigures:
    """Consumption so far, expected consumption and projection of ``members`` over the period of ``bounds``
    up to ``data_day``; ``percent``: as the base of a "% above expected" amount (modelled sites only).

    With a cache, computed once per run for each (sites, period, data day, mode) and shared by its trackers.
    """
    key = (tuple(members), bounds.period, bounds.start, data_day, percent)
    if cache is not None and key in cache.figures:
        return cache.figures[key]
    figures = _compute_scope_figures(session, members, bounds, data_day, percent, cache)
    if cache is not None:
        cache.figures[key] = figures
    return figures


def _compute_scope_figures(
    session: Session,
    members: list[int],
    bounds: PeriodBounds,
    data_day: dt.date,
    percent: bool,
    cache: EvaluationCache | None,
) -> ScopeFigures:
    last = min(bounds.end, data_day)
    usage = _site_usage(session, members, bounds.start, last, cache)
    so_far = pd.Series({s: u.total_kwh for s, u in usage.items()}, dtype=float)
    daily_variance = pd.Series({s: u.daily_variance_kwh2 for s, u in usage.items()}, dtype=float)
    reporting_day = sum(data_day in u.days for u in usage.values())
    notes: list[str] = []
    days_elapsed = max((last - bounds.start).days + 1, 0)
    days_remaining = max((bounds.end - data_day).days, 0)
    # One prediction of the whole period per site (shared by trackers of the same period): the days a site has
    # not reported (missed so far, or still to come) are projected from it; reported days are what was used.
    expected = (
        expected_per_day(session, members, bounds.start_ts, bounds.end_ts, cache) if days_remaining or percent else {}
    )
    reported_days = {s: u.days for s, u in usage.items()}
    remaining: dict[int, DailyExpected] = {}
    if days_remaining:
        for site_id, per_day in expected.items():
            seen = reported_days.get(site_id, frozenset())
            remaining[site_id] = {d: ev for d, ev in per_day.items() if d not in seen}
    expected_to_date: float | None = None
    expected_period: float | None = None

    if percent:
        modelled = sorted(expected)
        if not modelled:
            return ScopeFigures(
                error="none of these sites has a forecast model yet, so there is no expected "
                "consumption to compare with",
                sites_reporting_period=int(so_far.size),
                sites_reporting_day=reporting_day,
            )
        days_covered = min(len(v) for v in expected.values())
        if days_covered < bounds.days:
            notes.append(
                f"expected consumption is known for {days_covered} of {bounds.days} days of the period "
                "(no temperature forecast for the rest); the amount covers those days only"
            )
        if len(modelled) < len(members):
            notes.append(
                f"the amount covers the {len(modelled)} of {len(members)} sites that have a forecast model; "
                f"{len(members) - len(modelled)} sites without a model are not counted"
            )
        expected_period = sum(e for per_day in expected.values() for e, _ in per_day.values())
        expected_to_date = sum(e for per_day in expected.values() for d, (e, _) in per_day.items() if d <= last)
        so_far_scope = so_far[so_far.index.isin(modelled)]
        remaining = {s: f for s, f in remaining.items() if s in modelled}
    else:
        modelled = sorted(remaining)
        so_far_scope = so_far
    remaining_sum = pd.Series({s: sum(e for e, _ in v.values()) for s, v in remaining.items()}, dtype=float)
    consumption = float(so_far_scope.sum()) if len(so_far_scope) else None
    if consumption is None:
        notes.append("no site has reported any data for this period yet")
    missing_day = len(members) - reporting_day
    if missing_day and data_day >= bounds.start:
        notes.append(
            f"{missing_day} of {len(members)} sites have not reported for {data_day:%a %-d %b}: "
            "their consumption is missing, not zero"
        )
    projection = compute_projection(
        so_far_scope,
        remaining_sum,
        days_elapsed,
        days_remaining,
        remaining_variance_kwh2=pd.Series(
            {s: sum(var for _, var in v.values()) for s, v in remaining.items()}, dtype=float
        ),
        daily_variance_kwh2=daily_variance,
        days_reported=pd.Series({s: float(len(d)) for s, d in reported_days.items()}, dtype=float),
    )
    per_day_total: dict[dt.date, float] = {}
    for per_day in remaining.values():
        for day, (e, _) in per_day.items():
            per_day_total[day] = per_day_total.get(day, 0.0) + e
    daily_remaining = pd.Series(per_day_total, dtype=float)
    run_rate_sites = so_far_scope.index.difference(pd.Index(modelled))
    if days_elapsed and len(run_rate_sites) and days_remaining:
        rate = float(sum(so_far_scope[s] / max(len(reported_days.get(s, ())), 1) for s in run_rate_sites))
        days = [data_day + dt.timedelta(days=k) for k in range(1, days_remaining + 1)]
        daily_remaining = daily_remaining.add(pd.Series(rate, index=days), fill_value=0.0)
    if len(daily_remaining):  # a missed day's estimate counts from the first day still to come
        first_future = data_day + dt.timedelta(days=1)
        past = float(daily_remaining[daily_remaining.index < first_future].sum())
        daily_remaining = daily_remaining[daily_remaining.index >= first_future]
        if len(daily_remaining):
            daily_remaining.iloc[0] += past
    return ScopeFigures(
        sites_reporting_period=int(so_far.size),
        sites_reporting_day=reporting_day,
        expected_period_kwh=expected_period,
        expected_to_date_kwh=expected_to_date,
        consumption_kwh=consumption,
        projection_kwh=projection.kwh,
        projection_lower_kwh=projection.lower_kwh,
        projection_upper_kwh=projection.upper_kwh,
        projection_method=projection.method,
        running_kwh=compute_running_total(consumption, daily_remaining) if len(daily_remaining) else None,
        modelled_sites=len(modelled),
        notes=tuple(notes),
    )
