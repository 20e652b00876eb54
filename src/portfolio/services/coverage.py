"""Which sites reported in each bucket of a graph, and which intervals a model has to stand in for.

Reporting is decided by coverage, not by "any reading": a site with 1 of 48 half hours in a day is
partial that day. Sites complete over the whole window cost one look at the daily roll-up; only the
incomplete ones have their reading times loaded, so a big healthy portfolio stays cheap.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import cast

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from portfolio.analytics.coverage import (
    compute_bucket_expected_intervals,
    compute_bucket_of,
    compute_day_lengths_seconds,
    compute_day_spans,
)
from portfolio.queries.coverage import (
    load_day_row_counts,
    load_day_site_counts,
    load_days_below,
    load_reading_starts_in,
    load_site_days,
)
from portfolio.queries.expected import (
    load_site_day_totals_in,
    load_site_expected_in,
    load_site_expected_sums_in,
    load_sites_expected_in,
)
from portfolio.queries.usage import DEFAULT_INTERVAL_SECONDS
from portfolio.timekeeping import (
    RESOLUTION_SECONDS,
    SECONDS_PER_DAY,
    local_date_span,
    local_midnight_ts,
    local_midnights_ts,
    utc_offset_periods,
)


@dataclass(frozen=True)
class SiteBuckets:
    """The incomplete sites of a window: their per-bucket coverage and the intervals they did report."""

    site_buckets: pd.DataFrame  # site_id, start_ts, intervals, expected_intervals (incomplete sites' short days only)
    present: pd.DataFrame  # site_id, start_ts of the incomplete sites' readings on their incomplete days
    incomplete_ids: list[int]
    interval_seconds: dict[int, int]
    spans: dict[int, list[tuple[int, int]]] = field(default_factory=dict)  # per site: its incomplete days [UTC s)
    partial_spans: dict[int, list[tuple[int, int]]] = field(default_factory=dict)  # the days it reported some of
    silent_days: dict[dt.date, list[int]] = field(default_factory=dict)  # local day -> the sites with no reading
    silent_spans: dict[dt.date, tuple[int, int]] = field(default_factory=dict)  # that day within the window [UTC s)


def meter_interval_seconds(members: pd.DataFrame) -> pd.Series:
    """Each member's meter interval [s] from its ``meter_type`` (half-hourly unless an hourly AMR meter), row by row:
    what a graph's finest resolution and a panel's sites are read with (the warm-up must read them alike)."""
    return members["meter_type"].map(DEFAULT_INTERVAL_SECONDS).fillna(1800)


def site_interval_seconds(members: pd.DataFrame) -> dict[int, int]:
    """Each site's meter interval [s] from its meter type (half-hourly unless it is an hourly AMR meter)."""
    return {
        int(s): int(DEFAULT_INTERVAL_SECONDS.get(m, 1800))  # MeterType is a str enum: its str() is "MeterType.AMR"
        for s, m in zip(members["site_id"], members["meter_type"], strict=True)
    }


def load_short_days(
    session: Session, steps: Mapping[int, int], zones: Mapping[int, str], first: dt.date, last: dt.date
) -> dict[int, list[dt.date]]:
    """Each site's local days first..last with fewer intervals than it should have reported; sites never short
    are left out. A day without a daily roll-up row reported nothing. See :func:`load_short_day_counts`.
    """
    return {
        site_id: sorted(days) for site_id, days in load_short_day_counts(session, steps, zones, first, last).items()
    }


def load_short_day_counts(
    session: Session, steps: Mapping[int, int], zones: Mapping[int, str], first: dt.date, last: dt.date
) -> dict[int, dict[dt.date, int]]:
    """Each short site's short local days first..last with the intervals it did report on them (0: no row).

    ``steps``: site -> its interval [s] (86400: one daily total, sites opted out of half hours); ``zones``: site ->
    its time zone (its days' lengths: 46, 48 or 50 half hours). Asked of the database so only the short days come
    back: the rows below a full day, and the days present for the sites with fewer rows than days. A year of a
    healthy 1,000-site portfolio is a few hundred rows, not 365,000.
    """
    if not steps or last < first:
        return {}
    all_days = [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]
    short: dict[int, dict[dt.date, int]] = {
        site_id: dict.fromkeys(sorted(set(all_days) - days), 0)
        for site_id, days in _site_days_present(session, list(steps), all_days).items()
    }
    groups: dict[tuple[str, int], list[int]] = {}
    for site_id, step in steps.items():
        groups.setdefault((zones[site_id], step), []).append(site_id)
    for (zone, step), site_ids in groups.items():
        wanted = (
            pd.Series(1, index=all_days)
            if step == SECONDS_PER_DAY
            else compute_day_lengths_seconds(first, last, zone) // step
        )
        ordinary = int(wanted.mode().iloc[0])
        exceptions = {cast(dt.date, day): int(n) for day, n in wanted.items() if n != ordinary}
        below = load_days_below(session, site_ids, first, last, ordinary, exceptions)
        for site_id, day, count in zip(
            below["site_id"].to_numpy(dtype=np.int64), below["local_date"], below["intervals"], strict=True
        ):
            short.setdefault(int(site_id), {})[day] = int(count)
    return {site_id: short[site_id] for site_id in steps if short.get(site_id)}


def _site_days_present(session: Session, site_ids: list[int], all_days: list[dt.date]) -> dict[int, set[dt.date]]:
    """The days with a daily roll-up row of each site missing at least one of ``all_days`` (sites with every day
    are left out). Asked so a day every such site has, or none has, costs nothing per site: the morning before
    yesterday's files arrive, 1,000 sites each miss that one day, and only the days some sites missed are read
    site by site."""
    first, last = all_days[0], all_days[-1]
    counts = load_day_row_counts(session, site_ids, first, last)
    gappy = [site_id for site_id in site_ids if counts.get(site_id, 0) < len(all_days)]
    reporting = [site_id for site_id in gappy if counts.get(site_id, 0)]  # the rest reported no day at all
    per_day = load_day_site_counts(session, reporting, first, last)
    everyone = [day for day in all_days if per_day.get(day, 0) == len(reporting)]
    mixed = [day for day in all_days if 0 < per_day.get(day, 0) < len(reporting)]
    present = load_site_days(session, reporting, first, last, mixed)
    for site_id in reporting:
        present[site_id].update(everyone)
    return {site_id: present.get(site_id, set()) for site_id in gappy}


def load_site_buckets(
    session: Session, members: pd.DataFrame, bucket_ts: np.ndarray, resolution: str, lo: int, hi: int, time_zone: str
) -> SiteBuckets:
    """Coverage of every bucket in [lo, hi) for the sites that miss anything there (``hi`` capped at "now")."""
    intervals = site_interval_seconds(members)
    empty = pd.DataFrame(
        {c: pd.Series(dtype="int64") for c in ("site_id", "start_ts", "intervals", "expected_intervals")}
    )
    buckets = np.asarray(bucket_ts, dtype=np.int64)
    buckets = buckets[buckets < hi]
    if hi <= lo or not intervals or not len(buckets):
        return SiteBuckets(empty, empty[["site_id", "start_ts"]], [], intervals)
    first, last = local_date_span(lo, hi, time_zone)
    zones = dict(zip(members["site_id"].astype(int), members["time_zone"], strict=True))
    short_days = load_short_day_counts(
        session, intervals, {site_id: zones.get(site_id, time_zone) for site_id in intervals}, first, last
    )
    incomplete = [site_id for site_id in intervals if site_id in short_days]  # the members' order
    spans = {site_id: compute_day_spans(sorted(short_days[site_id]), lo, hi, time_zone) for site_id in incomplete}
    if not incomplete:
        return SiteBuckets(empty, empty[["site_id", "start_ts"]], [], intervals)
    silent_spans = silent_day_spans(short_days, lo, hi, time_zone)
    silent_days: dict[dt.date, list[int]] = {}
    partial_days: dict[int, list[dt.date]] = {}
    for site_id in incomplete:
        for day, reported in sorted(short_days[site_id].items()):
            if reported == 0 and day in silent_spans and intervals[site_id] in SILENT_DAY_GRIDS:
                silent_days.setdefault(day, []).append(site_id)
            else:
                partial_days.setdefault(site_id, []).append(day)
    partial_spans = {s: compute_day_spans(days, lo, hi, time_zone) for s, days in partial_days.items()}
    partial_spans = {s: ranges for s, ranges in partial_spans.items() if ranges}
    longest = max(RESOLUTION_SECONDS[resolution], max(intervals[s] for s in incomplete))
    present = load_reading_starts_in(session, partial_spans, longest)  # a silent day has no readings to look for
    return SiteBuckets(
        _short_day_buckets(present, buckets, incomplete, intervals, spans, resolution, time_zone),
        present,
        incomplete,
        intervals,
        spans,
        partial_spans,
        silent_days,
        {day: silent_spans[day] for day in silent_days},
    )


SILENT_DAY_GRIDS = {1800: "hh", 3600: "hour"}
"""Meter intervals [s] whose silent days are summed in SQL, and the stored predictions that are their own grid."""


def silent_day_spans(
    short_days: Mapping[int, Mapping[dt.date, int]], lo: int, hi: int, time_zone: str
) -> dict[dt.date, tuple[int, int]]:
    """The days some site reported nothing on, as [UTC s) within [lo, hi), where the span starts and ends on the
    hour: the stored hourly rows then hold exactly its intervals, and no hourly bucket straddles local midnight
    (zones 30 minutes off the hour) or the window's edge (a zoom, "now"). Other days take the per-interval path."""
    days = sorted({day for counts in short_days.values() for day, n in counts.items() if n == 0})
    found = {}
    for day in days:
        span = (
            max(lo, local_midnight_ts(day, time_zone)),
            min(hi, local_midnight_ts(day + dt.timedelta(days=1), time_zone)),
        )
        if span[1] > span[0] and span[0] % 3600 == 0 and span[1] % 3600 == 0:
            found[day] = span
    return found


def silent_day_grid(resolution: str, interval_seconds: int) -> str:
    """Which stored predictions sum a silent day's buckets for a site with meters of ``interval_seconds``: its
    own grid for half-hour buckets, the hourly rows (its own grid's sums) for hours and days."""
    return "hh" if resolution == "hh" and interval_seconds == 1800 else "hour"


def _short_day_buckets(
    present: pd.DataFrame,
    buckets: np.ndarray,
    incomplete: list[int],
    intervals: dict[int, int],
    spans: dict[int, list[tuple[int, int]]],
    resolution: str,
    time_zone: str,
) -> pd.DataFrame:
    """The incomplete sites' buckets on their short days (elsewhere they reported every interval): site_id,
    start_ts, intervals (reported), expected_intervals. Vectorised: a 1,000-site month is tens of thousands of rows."""
    picked_sites, picked, picked_steps = [], [], []
    for site_id in incomplete:  # ``buckets`` ascend: each span is one slice of them
        for span_lo, span_hi in spans[site_id]:
            first, last = np.searchsorted(buckets, [span_lo, span_hi])
            picked.append(np.arange(first, last))
            picked_sites.append(np.full(last - first, site_id, dtype=np.int64))
            picked_steps.append(np.full(last - first, intervals[site_id], dtype=np.int64))
    index = np.concatenate(picked) if picked else np.empty(0, dtype=np.int64)
    site_ids = np.concatenate(picked_sites) if picked_sites else np.empty(0, dtype=np.int64)
    steps = np.concatenate(picked_steps) if picked_steps else np.empty(0, dtype=np.int64)
    starts = buckets[index]
    expected = np.zeros(len(index), dtype=np.int64)
    for step in np.unique(steps):
        chosen = steps == step
        expected[chosen] = compute_bucket_expected_intervals(buckets, resolution, time_zone, int(step))[index[chosen]]
    # readings counted per site and bucket, looked up by one sorted key
    key_of = np.int64(1) << np.int64(40)
    reported = present["site_id"].to_numpy(dtype=np.int64) * key_of + compute_bucket_of(
        present["start_ts"].to_numpy(dtype=np.int64), resolution, time_zone
    )
    keys, counts = np.unique(reported, return_counts=True)
    wanted = site_ids * key_of + starts
    at = np.clip(np.searchsorted(keys, wanted), 0, max(len(keys) - 1, 0))
    found = (keys[at] == wanted) if len(keys) else np.zeros(len(wanted), dtype=bool)
    return pd.DataFrame(
        {
            "site_id": site_ids,
            "start_ts": starts.astype(np.int64),
            "intervals": np.where(found, counts[at] if len(keys) else 0, 0).astype(np.int64),
            "expected_intervals": expected,
        }
    )


def load_gap_predictions(session: Session, chosen: SiteBuckets) -> pd.DataFrame:
    """The stored per-interval predictions of the incomplete sites on the days they reported part of: site_id, start_ts,
    expected_kwh [kWh], variance_kwh2 [kWh²]. Each site's own grid: "hh", else "hour"; no model, no rows."""
    columns = {"site_id": "int64", "start_ts": "int64", "expected_kwh": "float64", "variance_kwh2": "float64"}
    frames = []
    wanted = dict(chosen.partial_spans)  # silent days: :func:`load_silent_day_estimates`
    for resolution in ("hh", "hour"):  # a half-hourly site also has hourly rows: its own grid is its finest
        if not wanted:
            break
        stored = load_site_expected_in(session, wanted, resolution, epoch=True)
        if len(stored):
            frames.append(stored)
            for site_id in set(stored["site_id"].astype(int)):
                wanted.pop(site_id, None)
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in columns.items()})
    return pd.concat(frames, ignore_index=True)[list(columns)].astype(columns)


ESTIMATE_COLUMNS = {
    "start_ts": "int64",
    "estimated_kwh": "float64",
    "variance_kwh2": "float64",
    "sites_estimated": "int64",
}


def silent_site_spans(
    silent_days: Mapping[dt.date, Sequence[int]], day_spans: Mapping[dt.date, tuple[int, int]]
) -> dict[int, list[tuple[int, int]]]:
    """Per site, its silent days' [UTC s) spans, consecutive days joined (fewer terms in the query)."""
    spans: dict[int, list[tuple[int, int]]] = {}
    for day in sorted(silent_days):
        lo, hi = day_spans[day]
        for site_id in silent_days[day]:
            ranges = spans.setdefault(int(site_id), [])
            if ranges and ranges[-1][1] == lo:
                ranges[-1] = (ranges[-1][0], hi)
            else:
                ranges.append((lo, hi))
    return spans


def load_silent_day_estimates(
    session: Session, chosen: SiteBuckets, resolution: str, time_zone: str
) -> tuple[pd.DataFrame, set[int]]:
    """The estimate for the days sites reported nothing on, per bucket: start_ts, estimated_kwh [kWh],
    variance_kwh2 [kWh²], sites_estimated; and the sites a model stood in for.

    Every interval of a silent day is missing, so its estimate is the sum of the site's stored predictions over the
    bucket, added in SQL: a few hundred rows for 1,000 sites that have not sent yesterday's readings yet, instead of
    48,000. Same figures as the per-interval path (a site's errors fully correlated within a bucket, sites
    independent): hour rows are their half hours' sums, and a day's standard error is its hours' added.
    """
    by_grid: dict[str, dict[dt.date, list[int]]] = {}
    for day, site_ids in chosen.silent_days.items():
        for site_id in site_ids:
            grid = silent_day_grid(resolution, chosen.interval_seconds[site_id])
            by_grid.setdefault(grid, {}).setdefault(day, []).append(site_id)
    parts = []
    modelled: set[int] = set()
    for grid, days in sorted(by_grid.items()):
        spans = silent_site_spans(days, chosen.silent_spans)
        bounds = [chosen.silent_spans[d] for d in days]
        if resolution != "day":  # per bucket, and which sites have predictions there: no per-day totals needed
            modelled |= load_sites_expected_in(session, spans, grid)
            sums = load_site_expected_sums_in(session, spans, grid)  # sites without predictions add no rows
            parts.append(sums.rename(columns={"expected_kwh": "estimated_kwh", "sites": "sites_estimated"}))
            continue
        offsets = utc_offset_periods(min(lo for lo, _ in bounds), max(hi for _, hi in bounds), time_zone)
        totals = load_site_day_totals_in(session, spans, offsets, grid)
        modelled |= {int(s) for s in totals["site_id"]}
        per_day = totals.assign(
            start_ts=local_midnights_ts(totals["local_date"], time_zone),
            variance_kwh2=np.square(totals["standard_error_kwh"].to_numpy(dtype=np.float64)),
            sites_estimated=1,
        ).rename(columns={"expected_kwh": "estimated_kwh"})
        parts.append(per_day[list(ESTIMATE_COLUMNS)])
    parts = [p for p in parts if len(p)]
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in ESTIMATE_COLUMNS.items()}), modelled
    summed = pd.concat(parts, ignore_index=True)[list(ESTIMATE_COLUMNS)].groupby("start_ts", as_index=False).sum()
    return summed.astype(ESTIMATE_COLUMNS), modelled
