"""Estimates for missing intervals per site and UK local day: computed from the stored predictions, kept in batch.

A portfolio's "estimated for missing intervals" adds, for every site and every day it fell short on, the stored
predictions of the intervals it did not report [kWh] (a site's errors fully correlated across them, sites
independent). Computing that in a request reads every short day's half-hourly predictions: 820,000 rows for a
year of 1,000 real (gappy) sites. So the batch (the daily run, ``portfolio fit-models``) stores one row per site and
short day (``site_missing_estimates``) right after the predictions it reads, and a request adds those rows up.

A stored day is used only while it is still true: made from the site's current predictions, within the stored
days, and with the daily roll-up still holding the count it was computed from (readings that arrived since make
the site's figures computed afresh, from the same code, :func:`compute_site_day_estimates`). Days after the last
run (yesterday's files before tonight's run) are always computed in the request: a few days, not a year.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, cast
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session, sessionmaker

from portfolio.analytics.coverage import compute_day_spans
from portfolio.analytics.portfolio_forecast import compute_missing_interval_estimate
from portfolio.db import transaction
from portfolio.models import SiteMissingEstimateState
from portfolio.queries import expected as expected_queries
from portfolio.queries import missing_estimates as queries
from portfolio.queries.coverage import load_reading_starts_in
from portfolio.services.coverage import SILENT_DAY_GRIDS, load_short_day_counts, silent_day_spans, silent_site_spans
from portfolio.timekeeping import (
    SECONDS_PER_DAY,
    UK_TIME_ZONE,
    local_date_span,
    local_midnight_ts,
    utc_offset_periods,
)

log = logging.getLogger(__name__)

STORED_RESOLUTION = {1800: "hh", 3600: "hour", SECONDS_PER_DAY: "day"}
"""The stored predictions on a site's own grid (``site_expected``): its meter's interval, or days if it opted out."""
PAST_DAYS = 400
RECENT_DAYS = 10
"""Days recomputed every run (the stored predictions of these days change as observed temperatures arrive)."""
CHUNK_SITES = 100
COLUMNS = {
    "site_id": "int64",
    "local_date": "object",
    "reported_intervals": "int64",
    "estimated_kwh": "float64",
    "estimated_se_kwh": "float64",
}


def _empty() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in COLUMNS.items()})


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


def _stored_forecasts_in(
    session: Session, spans: dict[int, list[tuple[int, int]]], resolution: str
) -> dict[int, pd.DataFrame]:
    """Stored predictions per site as ``predict`` frames (UTC index; expected_kwh, standard_error_kwh [kWh]),
    within each site's spans only; read, never predicted: a site without stored predictions is absent."""
    if resolution not in ("hh", "hour", "day") or not spans:
        return {}
    rows = expected_queries.load_site_expected_in(session, spans, resolution)
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


def site_steps(session: Session, sites: pd.DataFrame) -> dict[int, int]:
    """Each site's grid [s]: its meter's interval, or a whole day if it opted out of half-hourly data.

    ``sites``: site_id, interval_seconds. Opted-out sites (micro-businesses) are counted per local day: their
    interval readings are gone or must not be used, so a day without its daily total is their gap.
    """
    ids = [int(s) for s in sites["site_id"]]
    daily_only = expected_queries.load_daily_only_site_ids(session, ids)
    return {
        int(s): SECONDS_PER_DAY if int(s) in daily_only else int(i)
        for s, i in zip(sites["site_id"], sites["interval_seconds"], strict=True)
    }


def compute_site_day_estimates(
    session: Session, steps: dict[int, int], start_ts: int, end_ts: int, time_zone: str
) -> pd.DataFrame:
    """Per site and local day in [start_ts, end_ts) with missing intervals: the count it reported and the stored
    predictions' estimate of the rest (site_id, local_date, reported_intervals, estimated_kwh, estimated_se_kwh).

    ``steps``: site -> its grid [s] (:func:`site_steps`). Only the short days are read per interval (the reading
    times and the stored predictions of those days); a healthy year costs a look at the daily roll-up.
    """
    if not steps or end_ts <= start_ts:
        return _empty()
    first, last = local_date_span(start_ts, end_ts, time_zone)
    counts = load_short_day_counts(session, steps, dict.fromkeys(steps, time_zone), first, last)
    silent = _silent_site_days(session, counts, steps, start_ts, end_ts, time_zone)
    spans = {
        site_id: compute_day_spans(
            sorted(d for d in days if (site_id, d) not in silent.keys), start_ts, end_ts, time_zone
        )
        for site_id, days in counts.items()
    }
    spans = {site_id: ranges for site_id, ranges in spans.items() if ranges}
    if not spans:
        return _with_reported(silent.rows, counts) if len(silent.rows) else _empty()
    interval_spans = {s: v for s, v in spans.items() if steps[s] != SECONDS_PER_DAY}
    present = load_reading_starts_in(session, interval_spans, expected_queries.MAX_MODEL_INTERVAL_SECONDS)
    day_rows = [(s, day) for s in spans if steps[s] == SECONDS_PER_DAY for day, n in counts[s].items() if n > 0]
    if day_rows:
        present = pd.concat(
            [
                present,
                pd.DataFrame(
                    {
                        "site_id": np.array([s for s, _ in day_rows], dtype=np.int64),
                        "start_ts": np.array([local_midnight_ts(d, time_zone) for _, d in day_rows], dtype=np.int64),
                    }
                ),
            ],
            ignore_index=True,
        )
    zone = ZoneInfo(time_zone)
    frames = []
    for step in sorted({steps[s] for s in spans}):
        members = [s for s in spans if steps[s] == step]
        own_grids = {s: _span_grid(spans[s], step, time_zone) for s in members}
        grid_ts = np.unique(np.concatenate(list(own_grids.values())))
        grid = pd.DatetimeIndex(pd.to_datetime(grid_ts, unit="s", utc=True))
        reported = present[present["site_id"].isin(members)]
        columns = {}
        for site_id in members:
            seen = reported.loc[reported["site_id"] == site_id, "start_ts"].to_numpy(dtype=np.int64)
            gap = np.isin(grid_ts, own_grids[site_id]) & ~np.isin(grid_ts, seen)
            columns[site_id] = np.where(gap, np.nan, 1.0)  # 1.0 = reported or outside its short days, NaN = missing
        matrix = pd.DataFrame(columns, index=grid)
        forecasts = _stored_forecasts_in(session, {s: spans[s] for s in members}, STORED_RESOLUTION.get(step, ""))
        site_forecasts: dict[Any, pd.DataFrame] = {s: forecasts[s] for s in members if s in forecasts}
        estimate = compute_missing_interval_estimate(matrix, site_forecasts)
        missing = matrix.isna()
        estimated = estimate.estimated_kwh.reindex(index=grid, columns=members)
        no_forecast = pd.Series(np.nan, index=grid)
        errors = pd.DataFrame(
            {s: forecasts[s]["standard_error_kwh"].reindex(grid) if s in forecasts else no_forecast for s in members}
        ).where(missing & estimated.notna())
        days = pd.Index([d.date() for d in grid.tz_convert(zone)], name="local_date")
        per_day = pd.DataFrame(
            {
                "missing": missing.set_axis(days).groupby(level=0).any().stack(),
                "estimated_kwh": estimated.set_axis(days).groupby(level=0).sum(min_count=1).stack(),
                "estimated_se_kwh": errors.set_axis(days).groupby(level=0).sum(min_count=1).stack(),
            }
        )
        per_day = per_day[per_day["missing"]].reset_index(names=["local_date", "site_id"])
        frames.append(per_day)
    found = pd.concat([f for f in [*frames, silent.rows] if len(f)] or [_empty()], ignore_index=True)
    return _with_reported(found, counts)


def _with_reported(found: pd.DataFrame, counts: dict[int, dict[dt.date, int]]) -> pd.DataFrame:
    found = found.assign(
        reported_intervals=[
            counts[int(s)].get(d, 0) for s, d in zip(found["site_id"], found["local_date"], strict=True)
        ]
    )
    return found[list(COLUMNS)].astype({c: t for c, t in COLUMNS.items() if c != "local_date"})


@dataclass(frozen=True)
class _SilentDays:
    keys: set[tuple[int, dt.date]]  # (site, local day) estimated here
    rows: pd.DataFrame  # site_id, local_date, estimated_kwh, estimated_se_kwh (NaN: no stored predictions)


def _silent_site_days(
    session: Session,
    counts: dict[int, dict[dt.date, int]],
    steps: dict[int, int],
    start_ts: int,
    end_ts: int,
    time_zone: str,
) -> _SilentDays:
    """The site-days with no reading at all, estimated from one summed row per site and day (their hourly
    predictions added in SQL, standard errors added): a morning before the collectors' files, 1,000 sites'
    yesterday is 1,000 rows, not 48,000. Sites on daily totals and days cut by the window's edges are left to the
    per-interval path."""
    interval_counts = {s: c for s, c in counts.items() if steps[s] in SILENT_DAY_GRIDS}
    day_spans = silent_day_spans(interval_counts, start_ts, end_ts, time_zone)
    silent_days = {day: [s for s, c in interval_counts.items() if c.get(day) == 0] for day in day_spans}
    keys = {(s, day) for day, site_ids in silent_days.items() for s in site_ids}
    frames = []
    if keys:
        bounds = list(day_spans.values())
        offsets = utc_offset_periods(min(lo for lo, _ in bounds), max(hi for _, hi in bounds), time_zone)
        totals = expected_queries.load_site_day_totals_in(
            session, silent_site_spans(silent_days, day_spans), offsets, "hour"
        ).set_index(["site_id", "local_date"])
        ordered = sorted(keys, key=lambda k: (k[1], k[0]))
        found = totals.reindex(pd.MultiIndex.from_tuples(ordered, names=["site_id", "local_date"]))
        frames.append(
            pd.DataFrame(
                {
                    "site_id": np.asarray([s for s, _ in ordered], dtype=np.int64),
                    "local_date": [day for _, day in ordered],
                    "estimated_kwh": found["expected_kwh"].to_numpy(dtype=np.float64),
                    "estimated_se_kwh": found["standard_error_kwh"].to_numpy(dtype=np.float64),
                }
            )
        )
    rows = pd.concat(frames, ignore_index=True) if frames else _empty().drop(columns="reported_intervals")
    return _SilentDays(keys, rows)


@dataclass(frozen=True)
class SiteEstimates:
    """Per site over a range: the estimate of its missing intervals, from stored days and days computed now."""

    per_site: pd.DataFrame  # site_id, estimated_kwh (NaN: missing intervals, no prediction), estimated_se_kwh
    stored_sites: int  # sites whose stored days were used
    computed_sites: int  # sites computed (in part or whole) in the request


def _per_site(rows: pd.DataFrame) -> pd.DataFrame:
    grouped = rows.groupby("site_id", sort=True)
    return pd.DataFrame(
        {
            "estimated_kwh": grouped["estimated_kwh"].sum(min_count=1),
            "estimated_se_kwh": grouped["estimated_se_kwh"].sum(min_count=1),
        }
    ).reset_index()


def load_site_estimates(
    session: Session, steps: dict[int, int], start_ts: int, end_ts: int, time_zone: str
) -> SiteEstimates:
    """Each site's estimate of its missing intervals in [start_ts, end_ts): stored days where they still hold,
    the rest computed now (:func:`compute_site_day_estimates`); only sites that missed intervals are listed.
    """
    first, last = local_date_span(start_ts, end_ts, time_zone)
    whole_days = start_ts == local_midnight_ts(first, time_zone) and end_ts == local_midnight_ts(
        last + dt.timedelta(days=1), time_zone
    )
    usable: dict[int, dt.date] = {}  # site -> last stored day used
    if time_zone == UK_TIME_ZONE and whole_days:
        usable = queries.load_usable_through(session, list(steps), first, last)
    totals = [queries.load_stored_site_totals(session, usable, first)] if usable else []
    rows = []
    tails: dict[dt.date, dict[int, int]] = {}  # the first day to compute now -> the sites computed from it
    for site_id, step in steps.items():
        through = usable.get(site_id)
        if through is None:
            tails.setdefault(first, {})[site_id] = step
        elif through < last:
            tails.setdefault(through + dt.timedelta(days=1), {})[site_id] = step
    for from_day, tail_steps in sorted(tails.items()):
        rows.append(
            compute_site_day_estimates(session, tail_steps, local_midnight_ts(from_day, time_zone), end_ts, time_zone)
        )
    found = pd.concat([r for r in rows if len(r)], ignore_index=True) if any(len(r) for r in rows) else _empty()
    parts = [t for t in [*totals, _per_site(found)] if len(t)]
    per_site = _per_site(pd.concat(parts, ignore_index=True)) if parts else _per_site(_empty())
    return SiteEstimates(per_site, len(usable), sum(len(t) for t in tails.values()))


@dataclass
class EstimateReport:
    sites: int = 0
    sites_whole: int = 0
    rows: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"sites": self.sites, "sites_whole": self.sites_whole, "rows": self.rows, "failed": len(self.errors)}


def refresh_missing_estimates(
    factory: sessionmaker[Session],
    now: dt.datetime | None = None,
    *,
    site_ids: Sequence[int] | None = None,
    full: bool = False,
    past_days: int = PAST_DAYS,
    recent_days: int = RECENT_DAYS,
    chunk_sites: int = CHUNK_SITES,
) -> EstimateReport:
    """Store every site's (or ``site_ids``') missing-interval estimates per UK local day up to yesterday.

    A site new here, refitted since (its stored predictions come from another fit) or ``full`` is computed over
    the whole window [today - past_days, yesterday]; any other from its last stored day, or the last
    ``recent_days`` (whose predictions the run has just recomputed), whichever is earlier.
    """
    now = now or dt.datetime.now(dt.UTC)
    report = EstimateReport()
    today = now.astimezone(ZoneInfo(UK_TIME_ZONE)).date()
    window_first, last = today - dt.timedelta(days=past_days), today - dt.timedelta(days=1)
    recent_first = max(window_first, today - dt.timedelta(days=recent_days))
    with factory() as session:
        sites = queries.load_estimated_sites(session, site_ids)
        steps = site_steps(session, sites)
        states = queries.load_estimate_states(session, list(steps))
        predictions = expected_queries.load_expected_states(session, list(steps))
    starts: dict[dt.date, list[int]] = {}
    for site_id in steps:
        state, prediction = states.get(site_id), predictions.get(site_id)
        fitted_at = prediction.model_fitted_at if prediction is not None else None
        whole = (
            full
            or state is None
            or state.from_date > window_first
            or not _same_moment(state.model_fitted_at, fitted_at)
        )
        start = window_first if whole else min(recent_first, state.through_date + dt.timedelta(days=1))  # type: ignore[union-attr]
        starts.setdefault(start, []).append(site_id)
        report.sites_whole += whole
    for start, ids in sorted(starts.items()):
        for begin in range(0, len(ids), chunk_sites):
            chunk = ids[begin : begin + chunk_sites]
            try:
                _refresh_chunk(factory, {s: steps[s] for s in chunk}, start, last, window_first, now, report)
            except Exception as error:  # noqa: BLE001 - these sites keep their rows (and go on being checked)
                log.exception("missing-interval estimates of sites %s failed", chunk)
                report.errors.append({"sites": chunk, "error": f"{type(error).__name__}: {error}"})
            report.sites += len(chunk)
    with transaction(factory) as session:
        queries.prune_estimates(session, window_first)
    return report


def _same_moment(a: dt.datetime | None, b: dt.datetime | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    aware = [m if m.tzinfo is not None else m.replace(tzinfo=dt.UTC) for m in (a, b)]  # SQLite drops the zone
    return aware[0] == aware[1]


def _refresh_chunk(
    factory: sessionmaker[Session],
    steps: dict[int, int],
    start: dt.date,
    last: dt.date,
    window_first: dt.date,
    now: dt.datetime,
    report: EstimateReport,
) -> None:
    if last < start:
        return
    lo_ts = local_midnight_ts(start, UK_TIME_ZONE)
    hi_ts = local_midnight_ts(last + dt.timedelta(days=1), UK_TIME_ZONE)
    with transaction(factory) as session:
        predictions = expected_queries.load_expected_states(session, list(steps))  # read with the rows they make
        found = compute_site_day_estimates(session, steps, lo_ts, hi_ts, UK_TIME_ZONE)
        queries.replace_estimates(session, list(steps), start, last, found)
        states = queries.load_estimate_states(session, list(steps))
        for site_id in steps:
            prediction = predictions.get(site_id)
            old = states.get(site_id)
            state = old or SiteMissingEstimateState(site_id=site_id)
            state.from_date = window_first if old is None or start <= window_first else max(old.from_date, window_first)
            state.through_date = last
            state.model_fitted_at = prediction.model_fitted_at if prediction is not None else None
            state.predictions_computed_at = prediction.computed_at if prediction is not None else None
            state.computed_at = now
            if old is None:
                session.add(state)
        report.rows += len(found)
