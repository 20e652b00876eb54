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
from typing import cast
from zoneinfo import ZoneInfo

import pandas as pd
import plotly.graph_objects as go
from sqlalchemy.orm import Session

from portfolio.access import AccessDenied, DataType, Viewer, require_sites
from portfolio.analytics.coverage import (
    compute_bucket_expected_intervals,
    compute_graph_totals,
    compute_missing_estimate,
    compute_portfolio_coverage,
)
from portfolio.analytics.resolution import (
    AUTO,
    RESOLUTION_LABELS,
    SAME_PERIOD_SHIFT_DAYS,
    choose_resolution,
    compute_grid_series,
    compute_load_profile,
    compute_local_axis,
    compute_shifted_series,
    compute_site_series,
    compute_weighted_temperature,
    finest_resolution,
)
from portfolio.figures.consumption import FUEL_NAMES, make_consumption_figure
from portfolio.figures.coverage import describe_chart
from portfolio.figures.heatmap import make_load_profile_figure
from portfolio.queries import expected as expected_queries
from portfolio.queries.consent import load_site_organisations
from portfolio.queries.graphs import (
    Scope,
    load_graph_sites,
    load_group_member_ids,
    load_location_names,
    load_scope_location_weights,
    load_scope_series,
    load_site_readings,
    load_sites_location_weights,
    load_sites_series,
    load_temperatures,
    load_top_sites,
)
from portfolio.queries.usage import DEFAULT_INTERVAL_SECONDS
from portfolio.services import audit
from portfolio.services.coverage import load_gap_predictions, load_site_buckets, site_interval_seconds
from portfolio.services.expected_series import make_expected_series
from portfolio.services.groups import ALL_SITES, group_site_ids
from portfolio.timekeeping import (
    MAX_RANGE_DAYS,
    SECONDS_PER_DAY,
    UK_TIME_ZONE,
    local_midnight_ts,
    local_range_ts,
)

TOP_SITES = 5
DAILY_ONLY_NOTE = "daily totals only: half-hourly data opted out (micro-business)"
FORECAST_DAYS = 7


@dataclass(frozen=True)
class GraphRequest:
    """One graph as asked for; nothing in it is trusted until :func:`make_graph` checks it."""

    group: str
    site: int | None  # None: the whole portfolio
    start: dt.date
    end: dt.date
    fuel: str  # "power", "gas" or "both" (a mixed portfolio then shows power: fuels are never added)
    granularity: str = AUTO
    stack: bool = False
    window: tuple[int, int] | None = None  # the zoomed x range [UTC epoch s), None: the whole range


@dataclass(frozen=True)
class GraphResult:
    figure: go.Figure
    resolution: str
    note: str
    fuel: str
    fuels: tuple[str, ...]
    summary: str = ""  # the chart in words, for screen readers
    finest: str = "hh"  # the finest resolution the graph's meters support
    totals: Mapping[str, float | None] | None = None  # metered_kwh, estimated_kwh over the window
    table: pd.DataFrame | None = None  # the drawn buckets, metered and estimated apart (the CSV export)


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


def _with_coverage(
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


def _with_site_coverage(frame: pd.DataFrame, members: pd.DataFrame, resolution: str, time_zone: str) -> pd.DataFrame:
    """One site's frame with ``expected_intervals`` per bucket, so partial buckets can be drawn as such."""
    seconds = next(iter(site_interval_seconds(members).values()), 1800)
    expected = compute_bucket_expected_intervals(frame["start_ts"].to_numpy(), resolution, time_zone, seconds)
    return frame.assign(expected_intervals=expected, intervals=frame["intervals"].fillna(0).astype("int64"))


def _scopes(session: Session, viewer: Viewer, group: str, site_ids: Sequence[int]) -> list[Scope] | None:
    """The maintained series that add up to exactly ``site_ids``, or None when only a direct query can."""
    if group in (None, "", ALL_SITES):
        if viewer.organisation_ids is None:
            return [Scope("all", 0)]
        if viewer.chosen_site_ids(DataType.INTERVAL_USAGE):
            return None  # grants over chosen sites (shared views): no maintained series adds up to them
        whole = viewer.whole_organisation_ids(DataType.INTERVAL_USAGE) or frozenset()
        daily_only = viewer.daily_only_organisation_ids & (
            viewer.whole_organisation_ids(DataType.DAILY_TOTALS) or frozenset()
        )  # opted out of half-hourly data: in the graph by their day series
        return [Scope("org", o) for o in sorted(whole | daily_only)]
    members = load_group_member_ids(session, int(group))
    return [Scope("group", int(group))] if members == sorted(site_ids) else None


def _graph_fuel(fuels: Sequence[str], wanted: str) -> str:
    if wanted in fuels:
        return wanted
    return "power" if "power" in fuels or not fuels else fuels[0]


def _on_axis(frame: pd.DataFrame, time_zone: str) -> pd.DataFrame:
    local = (
        pd.DatetimeIndex(frame["start_ts"].to_numpy(dtype="int64").astype("datetime64[s]"))
        .tz_localize("UTC")
        .tz_convert(time_zone)
    )
    return frame.assign(local_time=local.tz_localize(None), label=local.strftime("%a %-d %b %Y %H:%M %Z"))


@dataclass(frozen=True)
class _GraphSites:
    site_ids: list[int]  # the group's sites the viewer may see
    fuels: tuple[str, ...]  # fuels among the graph's sites
    fuel: str  # the fuel drawn
    members: pd.DataFrame  # the graph's sites of that fuel
    time_zone: str  # the time axis: the site's own zone for one site, the UK for a portfolio
    daily_only: bool = False  # some sites opted out of half-hourly data: the graph is drawn per day


def _daily_only_site_ids(session: Session, viewer: Viewer, group: str) -> set[int]:
    """Sites of opted-out organisations (micro-business opt-out) the viewer sees daily totals of."""
    if not viewer.daily_only_organisation_ids:
        return set()
    daily = group_site_ids(session, viewer, group, DataType.DAILY_TOTALS)
    owners = load_site_organisations(session, daily)
    return {s for s, o in owners.items() if o in viewer.daily_only_organisation_ids}


def _graph_sites(session: Session, viewer: Viewer, request: GraphRequest) -> _GraphSites:
    """The sites behind ``request`` after the access checks every graph, profile and panel share.

    Sites whose organisation opted out of half-hourly data are drawn from their daily totals only.
    """
    daily_only = _daily_only_site_ids(session, viewer, request.group)
    site_ids = sorted(set(group_site_ids(session, viewer, request.group, DataType.INTERVAL_USAGE)) | daily_only)
    if request.site is not None:
        if request.site not in site_ids:
            raise AccessDenied("that site is not in this group")
        if request.site not in daily_only:
            require_sites(session, viewer, [request.site], DataType.INTERVAL_USAGE)
    sites = load_graph_sites(session, [request.site] if request.site is not None else site_ids)
    fuels = tuple(sorted(set(sites["fuel"])))
    fuel = _graph_fuel(fuels, request.fuel)
    members = sites[sites["fuel"] == fuel]
    time_zone = UK_TIME_ZONE if request.site is None or members.empty else str(members["time_zone"].iloc[0])
    drawn_daily_only = bool(daily_only & {int(s) for s in members["site_id"]})
    return _GraphSites(list(site_ids), fuels, fuel, members, time_zone, drawn_daily_only)


def graph_time_zone(session: Session, viewer: Viewer, request: GraphRequest) -> str:
    """The zone of the graph's time axis (the zoom range arrives as wall-clock times in it); raises AccessDenied."""
    return _graph_sites(session, viewer, request).time_zone


def make_graph(session: Session, viewer: Viewer, request: GraphRequest, now: dt.datetime | None = None) -> GraphResult:
    """Check access, load the visible window at the right resolution, and draw it (raises AccessDenied).

    A look by someone outside a site's organisation is audited (one "viewed_by" entry per organisation and day).
    """
    chosen = _graph_sites(session, viewer, request)
    audit.record_viewed(session, viewer, [int(s) for s in chosen.members["site_id"]], now, via="graph")
    session.commit()
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
    finest = (
        "day"
        if chosen.daily_only
        else finest_resolution(members["meter_type"].map(DEFAULT_INTERVAL_SECONDS).fillna(1800))
    )
    resolution = choose_resolution(hi - lo, finest, request.granularity)
    axis = compute_local_axis(lo, hi, resolution, time_zone)
    member_ids = [int(s) for s in members["site_id"]]
    scopes = _scopes(session, viewer, request.group, site_ids) if portfolio else None

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
        frame, unmodelled = _with_coverage(session, frame, members, resolution, lo, hi, time_zone, now)
    elif not portfolio and member_ids and chosen.daily_only:  # one reading a day: the day is complete or missing
        frame = frame.assign(expected_intervals=1, intervals=frame["intervals"].fillna(0).astype("int64"))
    elif not portfolio and member_ids:
        frame = _with_site_coverage(frame, members, resolution, time_zone)
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
    temperatures = load_temperatures(session, list(weights.index), lo, temp_hi)
    weighted = compute_weighted_temperature(
        temperatures,
        dict(zip(weights.index.to_numpy(dtype="int64").tolist(), weights.to_numpy(dtype=float).tolist(), strict=True)),
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
    )
    figure.update_layout(
        uirevision=f"{request.group}|{request.site}|{request.start}|{request.end}|{fuel}|{request.granularity}|{request.stack}"
    )
    note = _note(resolution, finest, len(member_ids), request.window is not None)
    if chosen.daily_only:
        note += f" · {DAILY_ONLY_NOTE}"
    if unmodelled:
        note += f" · not estimated (no model): {', '.join(unmodelled)}"
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


def make_profile(session: Session, viewer: Viewer, request: GraphRequest) -> go.Figure:
    """The day-of-week × hour heat map of the range's load profile (same access checks as the graph)."""
    chosen = _graph_sites(session, viewer, request)
    site_ids, fuel, members, time_zone = chosen.site_ids, chosen.fuel, chosen.members, chosen.time_zone
    lo, hi = local_range_ts(request.start, request.end, time_zone)
    if chosen.daily_only:  # no hourly profile of sites opted out of half-hourly data
        series = pd.DataFrame({"start_ts": pd.Series(dtype="int64"), "energy_kwh": pd.Series(dtype="float64")})
    elif request.site is None:
        scopes = _scopes(session, viewer, request.group, site_ids)
        ids_ = [int(s) for s in members["site_id"]]
        series = (
            load_scope_series(session, scopes, fuel, "hour", lo, hi)
            if scopes is not None
            else load_sites_series(session, ids_, fuel, "hour", lo, hi)
        )
    elif len(members):
        series = compute_site_series(
            load_site_readings(session, int(members["site_id"].iloc[0]), lo, hi), "hour", time_zone
        )
    else:
        series = pd.DataFrame({"start_ts": [], "energy_kwh": []})
    profile = compute_load_profile(series, time_zone)
    return make_load_profile_figure(
        profile, title=f"Load profile · {FUEL_NAMES.get(fuel, fuel)} · mean kWh per local hour"
    )


@dataclass(frozen=True)
class ExpectedScope:
    """The sites, range and scopes behind a graph's expected-consumption panel (access already checked)."""

    sites: pd.DataFrame  # the graph's sites of the graph's fuel
    start_ts: int
    end_ts: int
    today_start_ts: int
    scopes: list[Scope] | None
    time_zone: str


def load_expected_scope(
    session: Session, viewer: Viewer, request: GraphRequest, now: dt.datetime | None = None
) -> ExpectedScope:
    """The expected-consumption panel's inputs for the graph's sites (same access checks as the graph)."""
    chosen = _graph_sites(session, viewer, request)
    site_ids, members, time_zone = chosen.site_ids, chosen.members, chosen.time_zone
    lo, hi = local_range_ts(request.start, request.end, time_zone)
    now = now or dt.datetime.now(dt.UTC)
    today_start = local_midnight_ts(now.astimezone(ZoneInfo(time_zone)).date(), time_zone)
    scopes = _scopes(session, viewer, request.group, site_ids) if request.site is None else None
    return ExpectedScope(members, lo, hi, today_start, scopes, time_zone)
