"""Graphs: coverage of the drawn buckets, and the model's estimate for the intervals that are missing.

A portfolio bucket counts its sites complete, partial and missing; the missing intervals are estimated from each
site's stored predictions [kWh] (``site_expected``, kept current by the daily run), never predicted in the
request and never after now. A site no per-interval model stands in for is named, not filled. A window's coverage
is computed once per version of the data and kept for every worker (``services/computed_results.py``). Re-exported
by :mod:`portfolio.services.graphs`.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from portfolio.analytics.coverage import (
    BAND_Z,
    compute_bucket_expected_intervals,
    compute_missing_estimate,
    compute_portfolio_coverage,
)
from portfolio.queries import expected as expected_queries
from portfolio.queries import missing_estimates as estimate_queries
from portfolio.services import coverage
from portfolio.services.computed_results import kept_or_computed
from portfolio.services.coverage import (
    load_gap_predictions,
    load_silent_day_estimates,
    load_site_buckets,
    site_interval_seconds,
)
from portfolio.services.missing_estimates import site_steps
from portfolio.timekeeping import UK_TIME_ZONE, local_date_span, local_midnight_ts, local_midnights_ts


def load_site_expected(session: Session, site_ids: Sequence[int], start_ts: int, end_ts: int) -> pd.DataFrame:
    """Each site's expected energy per interval in [start_ts, end_ts): site_id, start_ts, expected_kwh, variance_kwh2.

    Read from the stored predictions (``site_expected``, kept current by the daily run), never predicted in the
    request. A site's predictions are on its own grid ("hh" for half-hourly meters, "hour" for hourly), so both are
    read and each site has rows in one. Sites without a usable model are absent, never zero.
    """
    columns = {"site_id": "int64", "start_ts": "int64", "expected_kwh": "float64", "variance_kwh2": "float64"}
    if not site_ids or end_ts <= start_ts:
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in columns.items()})
    frames = []
    wanted = [int(s) for s in site_ids]
    for resolution in ("hh", "hour"):  # a half-hourly site also has hourly rows: its own grid is its finest
        stored = expected_queries.load_site_expected(session, wanted, start_ts, end_ts, resolution)
        if len(stored):
            frames.append(
                stored.assign(start_ts=pd.DatetimeIndex(stored["start"]).as_unit("s").asi8).drop(columns="start")
            )
            found = set(stored["site_id"].astype(int))
            wanted = [s for s in wanted if s not in found]
        if not wanted:
            break
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in columns.items()})
    return pd.concat(frames, ignore_index=True)[list(columns)].astype(columns)


COVERAGE_RESULT = "graph_coverage"
"""The kind of a graph's coverage kept in ``computed_results``."""


@dataclass(frozen=True)
class Coverage:
    """Per bucket (``start_ts``, one row per bucket of the axis): the coverage and estimate columns
    :func:`with_coverage` adds; and the incomplete sites no model stands in for."""

    columns: pd.DataFrame
    unmodelled_ids: list[int]


def with_coverage(
    session: Session,
    frame: pd.DataFrame,
    members: pd.DataFrame,
    resolution: str,
    lo: int,
    hi: int,
    time_zone: str,
    now: dt.datetime,
) -> tuple[pd.DataFrame, list[str]]:
    """The portfolio frame with per-bucket coverage and the estimate for missing intervals (never after now).

    Returns the frame (plus sites_total, sites_complete, sites_partial, sites_missing, sites_modelled_gap,
    sites_unmodelled_gap, estimated_kwh, lower_kwh, upper_kwh, sites_estimated) and the names of the
    incomplete sites no model can stand in for. Read from ``computed_results`` when this portfolio's window was
    computed before from the same data (by a request, or by the daily run: ``services/graphs_warm.py``), else computed
    and kept.
    """
    coverage = load_coverage(
        session, frame["start_ts"].to_numpy(dtype="int64"), members, resolution, lo, hi, time_zone, now
    )
    merged = frame.merge(coverage.columns, on="start_ts", how="left")
    names = dict(zip(members["site_id"].astype(int), members["name"], strict=True))
    return merged, sorted(names[s] for s in coverage.unmodelled_ids if s in names)


def load_coverage(
    session: Session,
    buckets: np.ndarray,
    members: pd.DataFrame,
    resolution: str,
    lo: int,
    hi: int,
    time_zone: str,
    now: dt.datetime,
) -> Coverage:
    """The coverage of ``buckets`` (the axis of [lo, hi) at ``resolution``), kept or computed and then kept.

    Keyed by the usage data's version and everything the result depends on: the sites and their meter intervals
    and zones, the window, its zone, the resolution and "now" (to the half hour: nothing after it is estimated).
    """
    cover_hi = min(hi, (int(now.timestamp()) // 1800) * 1800)
    return kept_or_computed(
        session,
        COVERAGE_RESULT,
        _coverage_inputs(members, buckets, resolution, lo, hi, cover_hi, time_zone),
        lambda: _compute_coverage(session, buckets, members, resolution, lo, hi, cover_hi, time_zone),
        _encode,
        lambda payload: _decode(payload, buckets),
        now,
    )


def _coverage_inputs(
    members: pd.DataFrame, buckets: np.ndarray, resolution: str, lo: int, hi: int, cover_hi: int, time_zone: str
) -> dict[str, object]:
    steps = site_interval_seconds(members)
    zones = dict(zip(members["site_id"].astype(int), members["time_zone"].fillna(time_zone), strict=True))
    return {
        "sites": sorted([int(s), int(steps[int(s)]), str(zones[int(s)])] for s in steps),
        "buckets": [
            len(buckets),
            int(buckets[0]) if len(buckets) else None,
            int(buckets[-1]) if len(buckets) else None,
        ],
        "resolution": resolution,
        "window": [int(lo), int(hi), int(cover_hi)],
        "time_zone": time_zone,
    }


def _encode(coverage: Coverage) -> str:
    frame = coverage.columns
    return json.dumps(
        {
            "dtypes": {c: str(t) for c, t in frame.dtypes.items()},
            "columns": {c: [None if v != v else v for v in frame[c].tolist()] for c in frame.columns},
            "unmodelled_ids": [int(s) for s in coverage.unmodelled_ids],
        },
        separators=(",", ":"),
    )


def _decode(payload: str, buckets: np.ndarray) -> Coverage | None:
    """A kept result, or None when it cannot be read or does not fit the axis (it is then computed afresh)."""
    try:
        stored = json.loads(payload)
        columns = pd.DataFrame(
            {
                column: pd.Series(
                    values, dtype="float64" if "float" in stored["dtypes"][column] else stored["dtypes"][column]
                )
                for column, values in stored["columns"].items()
            }
        )
        unmodelled = [int(s) for s in stored["unmodelled_ids"]]
    except (ValueError, TypeError, KeyError, AttributeError):
        return None
    if "start_ts" not in columns or not np.array_equal(columns["start_ts"].to_numpy(dtype="int64"), buckets):
        return None
    return Coverage(columns, unmodelled)


def _compute_coverage(
    session: Session,
    buckets: np.ndarray,
    members: pd.DataFrame,
    resolution: str,
    lo: int,
    hi: int,
    cover_hi: int,
    time_zone: str,
) -> Coverage:
    """Compute :class:`Coverage`. Daily buckets of a UK portfolio read the batch's stored per-day estimates
    (``services/missing_estimates.py``) where they still hold; the rest is computed here."""
    stored = _stored_days(session, members, resolution, lo, cover_hi, time_zone)
    site_buckets, estimates, modelled, incomplete = (
        [stored.site_buckets],
        [stored.estimates],
        set(stored.modelled),
        set(stored.incomplete),
    )
    for from_ts, ids in sorted(stored.live_from.items()):
        part = members[members["site_id"].astype(int).isin(ids)]
        chosen = load_site_buckets(session, part, buckets, resolution, max(lo, from_ts), cover_hi, time_zone)
        predictions = load_gap_predictions(session, chosen)
        interval = chosen.interval_seconds
        if len(predictions):  # a daily model cannot say which half hours are missing: only per-interval predictions
            step = predictions.groupby("site_id")["start_ts"].diff().groupby(predictions["site_id"]).min()
            fine = [s for s, d in step.items() if pd.notna(d) and d <= interval.get(int(cast(int, s)), 1800)]
            predictions = predictions[predictions["site_id"].isin(fine)]
        silent, silent_modelled = load_silent_day_estimates(session, chosen, resolution, time_zone)
        modelled |= {int(s) for s in predictions["site_id"].unique()} | silent_modelled
        incomplete |= set(chosen.incomplete_ids)
        site_buckets.append(chosen.site_buckets)
        estimates.append(_with_variance(compute_missing_estimate(predictions, chosen.present, resolution, time_zone)))
        estimates.append(silent[ESTIMATE_COLUMNS])
    all_site_buckets = (
        pd.concat([b for b in site_buckets if len(b)], ignore_index=True)
        if any(len(b) for b in site_buckets)
        else site_buckets[0]
    )
    coverage = compute_portfolio_coverage(buckets, all_site_buckets, len(members), modelled)
    axis = pd.DataFrame({"start_ts": buckets})
    merged = axis.merge(coverage, on="start_ts", how="left").merge(_add_estimates(estimates), on="start_ts", how="left")
    merged["sites_estimated"] = merged["sites_estimated"].fillna(0).astype("int64")
    future = merged["start_ts"] >= cover_hi
    merged.loc[future, ["sites_complete", "sites_partial", "sites_missing"]] = 0
    return Coverage(merged, sorted(int(s) for s in incomplete if s not in modelled))


ESTIMATE_COLUMNS = list(coverage.ESTIMATE_COLUMNS)
BUCKET_COLUMNS = ["start_ts", "estimated_kwh", "lower_kwh", "upper_kwh", "sites_estimated"]
"""What :func:`portfolio.analytics.coverage.compute_missing_estimate` returns per bucket."""


def _with_variance(estimate: pd.DataFrame) -> pd.DataFrame:
    """A bucket estimate (start_ts, estimated_kwh, lower_kwh, upper_kwh, sites_estimated) with its variance [kWh²]."""
    spread = (estimate["upper_kwh"] - estimate["estimated_kwh"]) / BAND_Z
    return estimate.assign(variance_kwh2=spread**2)[ESTIMATE_COLUMNS]


def _add_estimates(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """Bucket estimates of disjoint sets of sites added: energies and variances add (sites independent)."""
    frames = [p for p in parts if len(p)]
    if not frames:
        return pd.DataFrame(
            {c: pd.Series(dtype="int64" if c in ("start_ts", "sites_estimated") else "float64") for c in BUCKET_COLUMNS}
        )
    summed = pd.concat(frames, ignore_index=True).groupby("start_ts", as_index=False).sum()
    spread = BAND_Z * np.sqrt(summed["variance_kwh2"].to_numpy(dtype=np.float64))
    return pd.DataFrame(
        {
            "start_ts": summed["start_ts"].to_numpy(dtype=np.int64),
            "estimated_kwh": summed["estimated_kwh"].to_numpy(dtype=np.float64),
            "lower_kwh": summed["estimated_kwh"].to_numpy(dtype=np.float64) - spread,
            "upper_kwh": summed["estimated_kwh"].to_numpy(dtype=np.float64) + spread,
            "sites_estimated": summed["sites_estimated"].to_numpy(dtype=np.int64),
        }
    )


@dataclass(frozen=True)
class _StoredDays:
    site_buckets: pd.DataFrame  # site_id, start_ts, intervals, expected_intervals of the stored short days
    estimates: pd.DataFrame  # ESTIMATE_COLUMNS per day from the stored rows
    modelled: set[int]  # sites with an estimate on a stored day
    incomplete: set[int]  # sites with a stored short day
    live_from: dict[int, list[int]]  # UTC epoch s -> the sites computed in the request from then on


def _stored_days(
    session: Session, members: pd.DataFrame, resolution: str, lo: int, hi: int, time_zone: str
) -> _StoredDays:
    """The stored per-day estimates of the members that still hold, for a daily graph of a UK portfolio."""
    ids = [int(s) for s in members["site_id"]]
    empty_buckets = pd.DataFrame(
        {c: pd.Series(dtype="int64") for c in ("site_id", "start_ts", "intervals", "expected_intervals")}
    )
    nothing = _StoredDays(empty_buckets, pd.DataFrame(columns=ESTIMATE_COLUMNS), set(), set(), {lo: ids})
    if resolution != "day" or time_zone != UK_TIME_ZONE or hi <= lo or not ids:
        return nothing
    if not (members["time_zone"].fillna(UK_TIME_ZONE) == UK_TIME_ZONE).all():  # stored days are UK days
        return nothing
    meters = site_interval_seconds(members)
    steps = site_steps(session, pd.DataFrame({"site_id": list(meters), "interval_seconds": list(meters.values())}))
    if steps != meters:  # sites opted out of half-hourly data: their days are counted another way here
        return nothing
    first, last = local_date_span(lo, hi, time_zone)
    if local_midnight_ts(first, time_zone) != lo:
        return nothing
    usable = estimate_queries.load_usable_through(session, ids, first, last)
    live_from: dict[int, list[int]] = {}
    for site_id in ids:
        through = usable.get(site_id)
        start = lo if through is None else local_midnight_ts(through + dt.timedelta(days=1), time_zone)
        if start < hi:
            live_from.setdefault(start, []).append(site_id)
    rows = estimate_queries.load_stored_estimates(session, usable, first) if usable else None
    if rows is None or rows.empty:
        return _StoredDays(empty_buckets, pd.DataFrame(columns=ESTIMATE_COLUMNS), set(), set(), live_from)
    starts = local_midnights_ts(rows["local_date"], time_zone)
    expected = np.empty(len(rows), dtype=np.int64)
    for step in set(steps.values()):
        chosen = rows["site_id"].map(steps).to_numpy() == step
        expected[chosen] = compute_bucket_expected_intervals(starts[chosen], "day", time_zone, step)
    site_buckets = pd.DataFrame(
        {
            "site_id": rows["site_id"].to_numpy(dtype=np.int64),
            "start_ts": starts,
            "intervals": rows["reported_intervals"].to_numpy(dtype=np.int64),
            "expected_intervals": expected,
        }
    )
    estimated = rows["estimated_kwh"].notna().to_numpy()
    per_day = (
        pd.DataFrame(
            {
                "start_ts": starts[estimated],
                "estimated_kwh": rows["estimated_kwh"].to_numpy(dtype=np.float64)[estimated],
                "variance_kwh2": np.square(rows["estimated_se_kwh"].fillna(0.0).to_numpy(dtype=np.float64)[estimated]),
                "sites_estimated": 1,
            }
        )
        .groupby("start_ts", as_index=False)
        .sum()
    )
    return _StoredDays(
        site_buckets,
        per_day[ESTIMATE_COLUMNS],
        {int(s) for s in rows.loc[estimated, "site_id"]},
        {int(s) for s in rows["site_id"]},
        live_from,
    )


def with_site_coverage(frame: pd.DataFrame, members: pd.DataFrame, resolution: str, time_zone: str) -> pd.DataFrame:
    """One site's frame with ``expected_intervals`` per bucket, so partial buckets can be drawn as such."""
    seconds = next(iter(site_interval_seconds(members).values()), 1800)
    expected = compute_bucket_expected_intervals(frame["start_ts"].to_numpy(), resolution, time_zone, seconds)
    return frame.assign(expected_intervals=expected, intervals=frame["intervals"].fillna(0).astype("int64"))
