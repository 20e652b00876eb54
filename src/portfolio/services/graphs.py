"""Graphs: the server side of one consumption graph, its load profile and its expected-consumption scope.

:func:`make_graph` is the whole of one graph (access, queries, analytics, figure); the web callbacks unpack
the request, call it and hand the figure back. Zooming re-queries only the visible window at the resolution
that window deserves (plotly-resampler style), so no trace ever carries more than
``analytics.resolution.MAX_POINTS`` buckets.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import plotly.graph_objects as go
from sqlalchemy.orm import Session

from portfolio.access import Viewer
from portfolio.analytics.coverage import compute_graph_totals
from portfolio.analytics.resolution import (
    RESOLUTION_LABELS,
    SAME_PERIOD_SHIFT_DAYS,
    choose_resolution,
    compute_grid_series,
    compute_local_axis,
    compute_local_labels,
    compute_shifted_series,
    compute_site_series,
    finest_resolution,
)
from portfolio.figures.consumption import make_consumption_figure
from portfolio.figures.coverage import describe_chart
from portfolio.figures.style import FUEL_NAMES
from portfolio.queries.graphs import (
    load_location_names,
    load_scope_location_weights,
    load_scope_series,
    load_site_readings,
    load_sites_location_weights,
    load_sites_series,
    load_top_sites,
    load_weighted_temperature,
)
from portfolio.services import audit
from portfolio.services.coverage import meter_interval_seconds
from portfolio.services.expected_series import make_expected_series
from portfolio.services.graphs_coverage import load_site_expected, with_coverage, with_site_coverage
from portfolio.services.graphs_sites import (
    ExpectedScope,
    GraphRequest,
    GraphSites,
    graph_scopes,
    graph_sites,
    graph_time_zone,
    load_expected_scope,
)
from portfolio.timekeeping import MAX_RANGE_DAYS, SECONDS_PER_DAY, local_range_ts

TOP_SITES = 5
DAILY_ONLY_NOTE = "daily totals only: half-hourly data opted out (micro-business)"
FORECAST_DAYS = 7

__all__ = [
    "DAILY_ONLY_NOTE",
    "EXPORT_COLUMNS",
    "FORECAST_DAYS",
    "TOP_SITES",
    "ExpectedScope",
    "GraphRequest",
    "GraphResult",
    "graph_time_zone",
    "load_expected_scope",
    "load_site_expected",
    "draw_graph",
    "make_graph",
    "make_graph_csv",
]


@dataclass(frozen=True)
class GraphResult:
    figure: go.Figure | dict[str, Any]  # a kept graph's is its plotly JSON as plain data (``graphs_kept.py``)
    resolution: str
    note: str
    fuel: str
    fuels: tuple[str, ...]
    summary: str = ""  # the chart in words, for screen readers
    finest: str = "hh"  # the finest resolution the graph's meters support
    totals: Mapping[str, float | None] | None = None  # metered_kwh, estimated_kwh over the window
    table: pd.DataFrame | None = None  # the drawn buckets, metered and estimated apart (the CSV export)


def _on_axis(frame: pd.DataFrame, time_zone: str) -> pd.DataFrame:
    local = (
        pd.DatetimeIndex(frame["start_ts"].to_numpy(dtype="int64").astype("datetime64[s]"))
        .tz_localize("UTC")
        .tz_convert(time_zone)
    )
    return frame.assign(local_time=local.tz_localize(None), label=compute_local_labels(local))


def make_graph(session: Session, viewer: Viewer, request: GraphRequest, now: dt.datetime | None = None) -> GraphResult:
    """Check access, load the visible window at the right resolution, and draw it (raises AccessDenied).

    A look by someone outside a site's organisation is audited (one "viewed_by" entry per organisation and day).
    """
    chosen = graph_sites(session, viewer, request)
    audit.record_viewed(
        session, viewer, chosen.member_ids, now, via="graph", organisation_ids=chosen.member_organisation_ids
    )
    session.commit()
    return draw_graph(session, viewer, request, chosen, now)


def draw_graph(
    session: Session, viewer: Viewer, request: GraphRequest, chosen: GraphSites, now: dt.datetime | None = None
) -> GraphResult:
    """The graph of ``chosen`` (the sites :func:`graph_sites` allowed, access already checked and audited)."""
    site_ids, fuels, fuel, members, time_zone = (
        chosen.site_ids,
        chosen.fuels,
        chosen.fuel,
        chosen.members,
        chosen.time_zone,
    )
    portfolio = request.site is None
    full = local_range_ts(request.start, request.end, time_zone)
    lo, hi = request.window or full
    hi = min(hi, lo + MAX_RANGE_DAYS * SECONDS_PER_DAY)  # a crafted zoom cannot ask for centuries of buckets
    finest = "day" if chosen.daily_only else finest_resolution(meter_interval_seconds(members))
    resolution = choose_resolution(hi - lo, finest, request.granularity)
    axis = compute_local_axis(lo, hi, resolution, time_zone)
    member_ids = [int(s) for s in members["site_id"]]
    scopes = graph_scopes(session, viewer, request.group, site_ids) if portfolio else None

    def series(lo_ts: int, hi_ts: int, ids_: Sequence[int] | None = None) -> pd.DataFrame:
        if not portfolio and chosen.daily_only:  # the daily roll-up: its interval readings are gone or hidden
            daily = load_sites_series(session, member_ids, fuel, resolution, lo_ts, hi_ts)
            return daily.assign(intervals=daily["sites_reporting"])
        if not portfolio:
            readings = load_site_readings(session, member_ids[0], lo_ts, hi_ts) if member_ids else None
            return (
                compute_site_series(readings, resolution, time_zone)
                if readings is not None
                else compute_site_series(
                    pd.DataFrame(
                        {
                            "start_ts": pd.Series(dtype="int64"),
                            "interval_seconds": pd.Series(dtype="int64"),
                            "energy_kwh": pd.Series(dtype="float64"),
                            "estimated": pd.Series(dtype="bool"),
                        }
                    ),
                    resolution,
                    time_zone,
                )
            )
        if ids_ is None and scopes is not None:
            return load_scope_series(session, scopes, fuel, resolution, lo_ts, hi_ts)
        return load_sites_series(session, ids_ if ids_ is not None else member_ids, fuel, resolution, lo_ts, hi_ts)

    frame = compute_grid_series(series(lo, hi), axis)
    now = now or dt.datetime.now(dt.UTC)
    unmodelled: list[str] = []
    if portfolio and member_ids:
        frame, unmodelled = with_coverage(session, frame, members, resolution, lo, hi, time_zone, now)
    elif not portfolio and member_ids and chosen.daily_only:  # one reading a day: the day is complete or missing
        frame = frame.assign(expected_intervals=1, intervals=frame["intervals"].fillna(0).astype("int64"))
    elif not portfolio and member_ids:
        frame = with_site_coverage(frame, members, resolution, time_zone)
    shift = SAME_PERIOD_SHIFT_DAYS * SECONDS_PER_DAY
    previous = compute_shifted_series(series(lo - shift, hi - shift), SAME_PERIOD_SHIFT_DAYS, resolution, time_zone)
    last_year = compute_grid_series(previous, axis)[["local_time", "energy_kwh"]]

    stack = None
    if portfolio and request.stack and member_ids:
        first, last = (dt.datetime.fromtimestamp(t, ZoneInfo(time_zone)).date() for t in (lo, hi - 1))
        top = load_top_sites(session, member_ids, fuel, first, last, TOP_SITES)
        names = dict(zip(members["site_id"], members["name"], strict=True))
        stack, rest = {}, frame["energy_kwh"]
        for site_id in top:
            values = compute_grid_series(series(lo, hi, [site_id]), axis)["energy_kwh"]
            stack[names[site_id]] = values
            rest = rest - values.fillna(0)
        if len(member_ids) > len(top):
            stack[f"Other {len(member_ids) - len(top)} sites"] = rest.clip(lower=0)
    # Show the forecast when the range reaches today, over a quarter of the span (6 h to 7 days), so it
    # never crowds out the consumption.
    ahead = min(FORECAST_DAYS * SECONDS_PER_DAY, max(6 * 3600, (hi - lo) // 4))
    temp_hi = (
        max(hi, int(now.timestamp()) + ahead)
        if request.window is None and hi >= now.timestamp() - 2 * SECONDS_PER_DAY
        else hi
    )
    if portfolio:
        weights = (
            load_scope_location_weights(session, scopes, fuel, lo, hi)
            if scopes is not None
            else load_sites_location_weights(
                session,
                member_ids,
                fuel,
                *(dt.datetime.fromtimestamp(t, ZoneInfo(time_zone)).date() for t in (lo, hi - 1)),
            )
        )
        weights = weights[weights.index > 0]
        places = [n.title() for n in load_location_names(session, list(weights.index))]
        label = (
            f"consumption-weighted mean of {len(places)} location{'s' if len(places) != 1 else ''}: "
            f"{', '.join(sorted(places))}"
        )
    else:
        location = int(members["weather_location_id"].iloc[0]) if len(members) else 0
        weights = pd.Series({location: 1.0}) if location else pd.Series(dtype="float64")
        label = f"at {', '.join(n.title() for n in load_location_names(session, [location])) or 'the site'}"
    weighted = load_weighted_temperature(
        session,
        dict(zip(weights.index.to_numpy(dtype="int64").tolist(), weights.to_numpy(dtype=float).tolist(), strict=True)),
        lo,
        temp_hi,
        "day" if resolution == "day" else "hour",
        time_zone,
    )
    temperature = _on_axis(weighted, time_zone) if len(weighted) else None

    now_local = now.astimezone(ZoneInfo(time_zone)).replace(tzinfo=None)
    show_now = temperature is not None and temperature["local_time"].max() >= pd.Timestamp(now_local)
    x_range = None
    if request.window is not None:
        x_range = [str(dt.datetime.fromtimestamp(t, ZoneInfo(time_zone)).replace(tzinfo=None)) for t in (lo, hi)]
    expected, expected_note = make_expected_series(
        session, member_ids, resolution, lo, max(hi, temp_hi), time_zone, scopes=scopes, fuel=fuel
    )
    subject = "Whole portfolio" if portfolio else str(members["name"].iloc[0]) if len(members) else "Site"
    title = f"{subject} · {FUEL_NAMES.get(fuel, fuel)} · {RESOLUTION_LABELS[resolution]}"
    figure = make_consumption_figure(
        frame,
        resolution=resolution,
        fuel=fuel,
        title=title,
        portfolio=portfolio,
        temperature=temperature,
        temperature_label=label,
        last_year=last_year,
        stack=stack,
        now_local=now_local if show_now else None,
        x_range=x_range,
        expected=expected,
        unestimated_sites=unmodelled,
        uirevision=f"{request.group}|{request.site}|{request.start}|{request.end}|{fuel}|{request.granularity}|{request.stack}",
    )
    note = _note(resolution, finest, len(member_ids), request.window is not None)
    if chosen.daily_only:
        note += f" · {DAILY_ONLY_NOTE}"
    if unmodelled:
        note += f" · not estimated (no model): {_some_names(unmodelled)}"
    totals = compute_graph_totals(frame)
    return GraphResult(
        figure,
        resolution,
        f"{note} · {expected_note}" if expected_note else note,
        fuel,
        fuels,
        summary=describe_chart(title, frame, totals, RESOLUTION_LABELS[resolution].lower()),
        finest=finest,
        totals=totals,
        table=_table(frame),
    )


EXPORT_COLUMNS = {
    "label": "local_time",
    "energy_kwh": "metered_kwh",
    "estimated_kwh": "estimated_for_missing_kwh (model, not metered)",
    "lower_kwh": "estimated_for_missing_lower_90_kwh",
    "upper_kwh": "estimated_for_missing_upper_90_kwh",
    "sites_total": "sites",
    "sites_complete": "sites_reporting",
    "sites_partial": "sites_partial",
    "sites_missing": "sites_missing",
    "sites_estimated": "sites_estimated",
    "intervals": "intervals",
    "expected_intervals": "expected_intervals",
}


def _table(frame: pd.DataFrame) -> pd.DataFrame:
    """The graph's buckets as an export shows them: metered and estimated in separate columns, gaps empty."""
    return frame[[c for c in EXPORT_COLUMNS if c in frame]].rename(columns=EXPORT_COLUMNS)


def make_graph_csv(session: Session, viewer: Viewer, request: GraphRequest, now: dt.datetime | None = None) -> str:
    """The graph's data as CSV (same access checks and numbers as the graph; nothing filled or merged)."""
    table = make_graph(session, viewer, request, now).table
    return "" if table is None else table.to_csv(index=False, float_format="%.3f")


NOTE_NAMES = 5
"""Sites named in the graph's note; the rest are counted (the chart's "Not estimated" label lists them all)."""


def _some_names(names: Sequence[str]) -> str:
    """The first :data:`NOTE_NAMES` names and how many more: a 1,000-site note must not become a page of names."""
    shown = ", ".join(names[:NOTE_NAMES])
    return shown if len(names) <= NOTE_NAMES else f"{shown} and {len(names) - NOTE_NAMES} more"


def _note(resolution: str, finest: str, sites: int, zoomed: bool) -> str:
    finer = {"day": "hourly", "hour": "half-hourly"}.get(resolution) if resolution != finest else None
    parts = [f"{RESOLUTION_LABELS[resolution]} resolution", f"{sites} site{'s' if sites != 1 else ''}"]
    if finer:
        parts.append(f"zoom in (drag across the graph) for {finer}")
    if finest != "hh":
        parts.append("hourly meters: hourly is the finest")
    if zoomed:
        parts.append("double-click to zoom out")
    return " · ".join(parts)
