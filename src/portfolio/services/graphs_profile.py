"""The Graphs page's load profile: mean consumption [kWh per hour] by local weekday and hour, kept between requests.

A profile is 168 numbers, but computing one reads every hour of the range: a year of a broker's 20 organisations is
175,000 stored rows, ~80 ms of the page load's shared cores on SQLite, repeated by every load. So it is kept in
``computed_results`` (keyed by the usage data's version, the sites, fuel, window and zone, like the graph's
coverage), computed by the first request after new data or by the daily run for the big portfolios
(``services/graphs_warm.py``), and read by every later request, whichever worker serves it.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from sqlalchemy.orm import Session

from portfolio.access import Viewer
from portfolio.analytics.resolution import compute_load_profile, compute_site_series
from portfolio.figures.heatmap import make_load_profile_figure
from portfolio.figures.style import FUEL_NAMES
from portfolio.queries.graphs import Scope, load_scope_series, load_site_readings, load_sites_series
from portfolio.services.computed_results import data_now, kept_or_computed
from portfolio.services.graphs_sites import GraphRequest, graph_scopes, graph_sites, sites_before_the_run
from portfolio.timekeeping import local_range_ts

LOAD_PROFILE_RESULT = "load_profile"
WEEKDAYS = 7
HOURS = 24


def make_profile(session: Session, viewer: Viewer, request: GraphRequest, now: dt.datetime | None = None) -> go.Figure:
    """The day-of-week × hour heat map of the range's load profile (same access checks as the graph)."""
    chosen = graph_sites(session, viewer, request)
    fuel, members, time_zone = chosen.fuel, chosen.members, chosen.time_zone
    lo, hi = local_range_ts(request.start, request.end, time_zone)
    site_ids = [int(s) for s in members["site_id"]]
    if chosen.daily_only or not site_ids:  # no hourly profile of sites opted out of half-hourly data
        profile = _empty_profile()
    else:
        data = data_now(session, now or dt.datetime.now(dt.UTC))
        before, version = data.before, data.version
        as_before = None if before is None else before.version
        if request.site is None:
            scopes = graph_scopes(session, viewer, request.group, chosen.site_ids)
            ids_before = (
                None
                if before is None
                else [int(s) for s in sites_before_the_run(session, viewer, request, chosen, before).members["site_id"]]
            )
            profile = load_portfolio_profile(
                session,
                site_ids,
                scopes,
                fuel,
                lo,
                hi,
                time_zone,
                now,
                as_before=as_before,
                site_ids_before=ids_before,
                version=version,
            )
        else:
            profile = load_site_profile(
                session, site_ids[0], lo, hi, time_zone, now, as_before=as_before, version=version
            )
    return make_load_profile_figure(
        profile, title=f"Load profile · {FUEL_NAMES.get(fuel, fuel)} · mean kWh per local hour"
    )


def load_portfolio_profile(
    session: Session,
    site_ids: Sequence[int],
    scopes: Sequence[Scope] | None,
    fuel: str,
    lo: int,
    hi: int,
    time_zone: str,
    now: dt.datetime | None = None,
    *,
    as_before: int | None = None,
    site_ids_before: Sequence[int] | None = None,
    version: int | None = None,
) -> pd.DataFrame:
    """The profile of ``site_ids`` (a portfolio's sites of ``fuel``, already access-checked) over [lo, hi) [UTC epoch
    s], kept or computed then kept. ``scopes``: maintained series adding up to exactly those sites, or None.
    ``as_before``: see ``services.computed_results.kept_or_computed``; ``site_ids_before``: ``site_ids`` without
    those the running daily run has created since, when they differ; ``version``: the data's version, when this
    transaction read it already."""
    ids_ = sorted(int(s) for s in site_ids)

    def compute() -> pd.DataFrame:
        series = (
            load_scope_series(session, scopes, fuel, "hour", lo, hi)
            if scopes is not None
            else load_sites_series(session, ids_, fuel, "hour", lo, hi)
        )
        return compute_load_profile(series, time_zone)

    def inputs(ids: list[int]) -> dict[str, object]:
        return {"sites": ids, "fuel": fuel, "window": [int(lo), int(hi)], "time_zone": time_zone, "of": "portfolio"}

    before = None if site_ids_before is None else inputs(sorted(int(s) for s in site_ids_before))
    return _kept(session, inputs(ids_), compute, now, as_before, before, version)


def load_site_profile(
    session: Session,
    site_id: int,
    lo: int,
    hi: int,
    time_zone: str,
    now: dt.datetime | None = None,
    *,
    as_before: int | None = None,
    version: int | None = None,
) -> pd.DataFrame:
    """One site's profile over [lo, hi), from its own readings in its zone, kept or computed then kept."""

    def compute() -> pd.DataFrame:
        series = compute_site_series(load_site_readings(session, site_id, lo, hi), "hour", time_zone)
        return compute_load_profile(series, time_zone)

    inputs: dict[str, object] = {
        "sites": [int(site_id)],
        "window": [int(lo), int(hi)],
        "time_zone": time_zone,
        "of": "site",
    }
    return _kept(session, inputs, compute, now, as_before, version=version)


def _kept(
    session: Session,
    inputs: dict[str, object],
    compute: Callable[[], pd.DataFrame],
    now: dt.datetime | None,
    as_before: int | None,
    inputs_before: dict[str, object] | None = None,
    version: int | None = None,
) -> pd.DataFrame:
    return kept_or_computed(
        session,
        LOAD_PROFILE_RESULT,
        inputs,
        compute,
        encode_profile,
        decode_profile,
        now or dt.datetime.now(dt.UTC),
        as_before=as_before,
        inputs_before=inputs_before,
        version=version,
    )


def _empty_profile() -> pd.DataFrame:
    return _profile_frame(np.full((WEEKDAYS, HOURS), np.nan))


def _profile_frame(values: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame(
        values, index=pd.Index(range(WEEKDAYS), name="weekday"), columns=pd.Index(range(HOURS), name="hour")
    )


def encode_profile(profile: pd.DataFrame) -> str:
    """7 rows of 24 means [kWh per hour], null where a weekday-hour never reported."""
    values = profile.to_numpy(dtype=np.float64)
    return json.dumps([[None if v != v else float(v) for v in row] for row in values], separators=(",", ":"))


def decode_profile(payload: str) -> pd.DataFrame | None:
    """A kept profile, or None when it is not 7 rows of 24 numbers or nulls (then it is computed afresh)."""
    try:
        rows = json.loads(payload)
        values = np.array([[np.nan if v is None else float(v) for v in row] for row in rows], dtype=np.float64, ndmin=2)
    except (ValueError, TypeError):
        return None
    if values.shape != (WEEKDAYS, HOURS) or np.isinf(values).any():
        return None
    return _profile_frame(values)
