"""Graphs: coverage of the drawn buckets, and the model's estimate for the intervals that are missing.

A portfolio bucket counts its sites complete, partial and missing; the missing intervals are estimated from each
site's stored predictions [kWh] (``site_expected``, kept current by the daily run), never predicted in the
request and never after now. A site no per-interval model stands in for is named, not filled. Re-exported by
:mod:`portfolio.services.graphs`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import cast

import pandas as pd
from sqlalchemy.orm import Session

from portfolio.analytics.coverage import (
    compute_bucket_expected_intervals,
    compute_missing_estimate,
    compute_portfolio_coverage,
)
from portfolio.queries import expected as expected_queries
from portfolio.services.coverage import load_gap_predictions, load_site_buckets, site_interval_seconds


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
    incomplete sites no model can stand in for.
    """
    cover_hi = min(hi, (int(now.timestamp()) // 1800) * 1800)
    buckets = frame["start_ts"].to_numpy(dtype="int64")
    chosen = load_site_buckets(session, members, buckets, resolution, lo, cover_hi, time_zone)
    predictions = load_gap_predictions(session, chosen)
    interval = chosen.interval_seconds
    if len(predictions):  # a daily model cannot say which half hours are missing: only per-interval predictions
        step = predictions.groupby("site_id")["start_ts"].diff().groupby(predictions["site_id"]).min()
        fine = [s for s, d in step.items() if pd.notna(d) and d <= interval.get(int(cast(int, s)), 1800)]
        predictions = predictions[predictions["site_id"].isin(fine)]
    modelled = {int(s) for s in predictions["site_id"].unique()}
    coverage = compute_portfolio_coverage(buckets, chosen.site_buckets, len(members), modelled)
    estimate = compute_missing_estimate(predictions, chosen.present, resolution, time_zone)
    merged = frame.merge(coverage, on="start_ts", how="left").merge(estimate, on="start_ts", how="left")
    merged["sites_estimated"] = merged["sites_estimated"].fillna(0).astype("int64")
    future = merged["start_ts"] >= cover_hi
    merged.loc[future, ["sites_complete", "sites_partial", "sites_missing"]] = 0
    names = dict(zip(members["site_id"].astype(int), members["name"], strict=True))
    unmodelled = sorted(names[s] for s in chosen.incomplete_ids if s not in modelled)
    return merged, unmodelled


def with_site_coverage(frame: pd.DataFrame, members: pd.DataFrame, resolution: str, time_zone: str) -> pd.DataFrame:
    """One site's frame with ``expected_intervals`` per bucket, so partial buckets can be drawn as such."""
    seconds = next(iter(site_interval_seconds(members).values()), 1800)
    expected = compute_bucket_expected_intervals(frame["start_ts"].to_numpy(), resolution, time_zone, seconds)
    return frame.assign(expected_intervals=expected, intervals=frame["intervals"].fillna(0).astype("int64"))
