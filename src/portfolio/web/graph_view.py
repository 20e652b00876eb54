"""The consumption graph page: a site or a whole portfolio group, any range, resolution following the zoom.

Kept out of ``pages/`` so tests and the benchmark can import it; ``pages/graphs.py`` registers the page.
:func:`make_graph` is the whole server side of one graph (access, queries, analytics, figure); the
callbacks unpack the request, call it and hand the figure back. Zooming sends ``relayoutData``: the
callback re-queries only the visible window at the resolution that window deserves (plotly-resampler
style), so no trace ever carries more than ``analytics.resolution.MAX_POINTS`` buckets.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import dash
import pandas as pd
import plotly.graph_objects as go
from dash import ALL, ClientsideFunction, Dash, Input, Output, State, ctx, dcc, html
from sqlalchemy.orm import Session

from portfolio.access import AccessDenied, Viewer, require_sites
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
    local_midnight_ts,
    local_range_ts,
)
from portfolio.figures.consumption import FUEL_NAMES, make_consumption_figure
from portfolio.figures.heatmap import make_load_profile_figure
from portfolio.queries.graphs import (
    PORTFOLIO_ZONE,
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
from portfolio.services.groups import ALL_SITES, group_site_ids

from . import ids
from .context import current_viewer, request_session
from .expected_view import make_expected_panel, make_expected_series
from .url_state import (
    MAX_RANGE_DAYS,
    UrlStateError,
    from_store,
    local_today,
    parse_state,
    to_params,
    to_query,
    to_store,
)

WHOLE_PORTFOLIO = "portfolio"
GRANULARITIES = {AUTO: "Auto", "day": "Daily", "hour": "Hourly", "hh": "Half-hourly"}
RANGE_BUTTONS = {7: "7 days", 30: "30 days", 365: "1 year"}
TOP_SITES = 5
FORECAST_DAYS = 7
NOT_AVAILABLE = "This group or site is not available to you: it does not exist, or belongs to someone else."
HIDDEN = "hidden"


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


def _scopes(session: Session, viewer: Viewer, group: str, site_ids: Sequence[int]) -> list[Scope] | None:
    """The maintained series that add up to exactly ``site_ids``, or None when only a direct query can."""
    if group in (None, "", ALL_SITES):
        if viewer.organisation_ids is None:
            return [Scope("all", 0)]
        return [Scope("org", o) for o in sorted(viewer.organisation_ids)]
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


def make_graph(session: Session, viewer: Viewer, request: GraphRequest, now: dt.datetime | None = None) -> GraphResult:
    """Check access, load the visible window at the right resolution, and draw it (raises AccessDenied)."""
    site_ids = group_site_ids(session, viewer, request.group)
    if request.site is not None:
        if request.site not in site_ids:
            raise AccessDenied("that site is not in this group")
        require_sites(session, viewer, [request.site])
    sites = load_graph_sites(session, [request.site] if request.site is not None else site_ids)
    fuels = tuple(sorted(set(sites["fuel"])))
    fuel = _graph_fuel(fuels, request.fuel)
    members = sites[sites["fuel"] == fuel]
    portfolio = request.site is None
    time_zone = PORTFOLIO_ZONE if portfolio or members.empty else str(members["time_zone"].iloc[0])
    full = local_range_ts(request.start, request.end, time_zone)
    lo, hi = request.window or full
    hi = min(hi, lo + MAX_RANGE_DAYS * 86_400)  # a crafted zoom cannot ask for centuries of buckets
    finest = finest_resolution(members["meter_type"].map(DEFAULT_INTERVAL_SECONDS).fillna(1800))
    resolution = choose_resolution(hi - lo, finest, request.granularity)
    axis = compute_local_axis(lo, hi, resolution, time_zone)
    member_ids = [int(s) for s in members["site_id"]]
    scopes = _scopes(session, viewer, request.group, site_ids) if portfolio else None

    def series(lo_ts: int, hi_ts: int, ids_: Sequence[int] | None = None) -> pd.DataFrame:
        if not portfolio:
            readings = load_site_readings(session, member_ids[0], lo_ts, hi_ts) if member_ids else None
            return (
                compute_site_series(readings, resolution, time_zone)
                if readings is not None
                else compute_site_series(
                    pd.DataFrame({"start_ts": [], "interval_seconds": [], "energy_kwh": [], "estimated": []}),
                    resolution,
                    time_zone,
                )
            )
        if ids_ is None and scopes is not None:
            return load_scope_series(session, scopes, fuel, resolution, lo_ts, hi_ts)
        return load_sites_series(session, ids_ if ids_ is not None else member_ids, fuel, resolution, lo_ts, hi_ts)

    frame = compute_grid_series(series(lo, hi), axis)
    shift = SAME_PERIOD_SHIFT_DAYS * 86_400
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

    now = now or dt.datetime.now(dt.UTC)
    # Show the forecast when the range reaches today, over a quarter of the span (6 h to 7 days), so it
    # never crowds out the consumption.
    ahead = min(FORECAST_DAYS * 86_400, max(6 * 3600, (hi - lo) // 4))
    temp_hi = (
        max(hi, int(now.timestamp()) + ahead) if request.window is None and hi >= now.timestamp() - 2 * 86_400 else hi
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
        names = [n.title() for n in load_location_names(session, list(weights.index))]
        label = f"Consumption-weighted mean temperature ({len(names)} location{'s' if len(names) != 1 else ''}: {', '.join(sorted(names))})"
    else:
        location = int(members["weather_location_id"].iloc[0]) if len(members) else 0
        weights = pd.Series({location: 1.0}) if location else pd.Series(dtype="float64")
        label = f"Temperature at {', '.join(n.title() for n in load_location_names(session, [location])) or 'the site'}"
    temperatures = load_temperatures(session, list(weights.index), lo, temp_hi)
    temperature = compute_weighted_temperature(
        temperatures, weights.to_dict(), "day" if resolution == "day" else "hour", time_zone
    )
    temperature = _on_axis(temperature, time_zone) if len(temperature) else None

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
    )
    figure.update_layout(
        uirevision=f"{request.group}|{request.site}|{request.start}|{request.end}|{fuel}|{request.granularity}|{request.stack}"
    )
    note = _note(resolution, finest, len(member_ids), request.window is not None)
    return GraphResult(figure, resolution, f"{note} · {expected_note}" if expected_note else note, fuel, fuels)


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
    site_ids = group_site_ids(session, viewer, request.group)
    if request.site is not None:
        if request.site not in site_ids:
            raise AccessDenied("that site is not in this group")
        require_sites(session, viewer, [request.site])
    sites = load_graph_sites(session, [request.site] if request.site is not None else site_ids)
    fuel = _graph_fuel(tuple(sorted(set(sites["fuel"]))), request.fuel)
    members = sites[sites["fuel"] == fuel]
    time_zone = PORTFOLIO_ZONE if request.site is None or members.empty else str(members["time_zone"].iloc[0])
    lo, hi = local_range_ts(request.start, request.end, time_zone)
    if request.site is None:
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


def make_expected(session: Session, viewer: Viewer, request: GraphRequest, now: dt.datetime | None = None) -> html.Div:
    """The expected-consumption summary and model quality for the graph's sites (same access checks)."""
    site_ids = group_site_ids(session, viewer, request.group)
    if request.site is not None:
        if request.site not in site_ids:
            raise AccessDenied("that site is not in this group")
        require_sites(session, viewer, [request.site])
    sites = load_graph_sites(session, [request.site] if request.site is not None else site_ids)
    fuel = _graph_fuel(tuple(sorted(set(sites["fuel"]))), request.fuel)
    members = sites[sites["fuel"] == fuel]
    time_zone = PORTFOLIO_ZONE if request.site is None or members.empty else str(members["time_zone"].iloc[0])
    lo, hi = local_range_ts(request.start, request.end, time_zone)
    now = now or dt.datetime.now(dt.UTC)
    today_start = local_midnight_ts(now.astimezone(ZoneInfo(time_zone)).date(), time_zone)
    scopes = _scopes(session, viewer, request.group, site_ids) if request.site is None else None
    return make_expected_panel(
        session, members, lo, hi, today_start, ids.GRAPH_MODEL_TABLE, scopes=scopes, time_zone=time_zone
    )


# Layout -------------------------------------------------------------------------------------------


def initial_state(query: Mapping[str, object], today: dt.date) -> tuple[Any, dict[str, Any]]:
    """Like the portfolio list: the URL chooses the view, or the first callback restores the shared state."""
    from .portfolio_view import initial_state as portfolio_initial_state

    state, check = portfolio_initial_state(query, today)
    check["site"] = str(query.get("site") or WHOLE_PORTFOLIO)
    return state, check


def make_graph_layout(
    options: Sequence[tuple[str, str, bool]], state: Any, url_check: Mapping[str, Any], today: dt.date
) -> html.Section:
    choices = [{"label": label, "value": value} for value, label, _ in options]
    if options and state.group not in {value for value, _, _ in options}:
        choices.append({"label": f"Group {state.group} (not available)", "value": state.group})

    def control(label: str, child: Any, for_id: str | None = None, **kwargs: Any) -> html.Div:
        heading = (
            html.Label(label, htmlFor=for_id, className="control-label")
            if for_id
            else html.Span(label, className="control-label")
        )
        return html.Div([heading, child], className=kwargs.pop("className", "control"), **kwargs)

    return html.Section(
        [
            html.Div([html.H1("Graphs"), html.P(id=ids.GRAPH_NOTE, className="muted")], className="page-header"),
            html.Div(
                [
                    control(
                        "Group",
                        dcc.Dropdown(
                            id=ids.GRAPH_GROUP,
                            options=choices,
                            value=state.group,
                            clearable=False,
                            className="group-dropdown",
                        ),
                        ids.GRAPH_GROUP,
                    ),
                    control(
                        "Site",
                        dcc.Dropdown(
                            id=ids.GRAPH_SITE,
                            options=[{"label": "Whole portfolio", "value": WHOLE_PORTFOLIO}],
                            value=WHOLE_PORTFOLIO,
                            clearable=False,
                            className="site-dropdown",
                        ),
                        ids.GRAPH_SITE,
                    ),
                    control(
                        "Local days",
                        html.Div(
                            [
                                dcc.DatePickerRange(
                                    id=ids.GRAPH_DATES,
                                    start_date=state.start.isoformat(),
                                    end_date=state.end.isoformat(),
                                    max_date_allowed=today.isoformat(),
                                    display_format="D MMM YYYY",
                                    first_day_of_week=1,
                                    minimum_nights=0,
                                    clearable=False,
                                ),
                                html.Div(
                                    [
                                        html.Button(
                                            label,
                                            id={"type": ids.GRAPH_RANGE_BUTTON, "days": days},
                                            n_clicks=0,
                                            className="button button-secondary range-button",
                                        )
                                        for days, label in RANGE_BUTTONS.items()
                                    ]
                                    + [html.Span("or pick dates (custom)", className="muted small")],
                                    className="range-buttons",
                                ),
                            ],
                            className="dates-with-buttons",
                        ),
                        ids.GRAPH_DATES,
                    ),
                    control(
                        "Fuel",
                        dcc.RadioItems(
                            id=ids.GRAPH_FUEL,
                            options=[{"label": "Power", "value": "power"}, {"label": "Gas", "value": "gas"}],
                            value=state.fuel if state.fuel in ("power", "gas") else "power",
                            inline=True,
                            className="segmented",
                        ),
                        id=ids.GRAPH_FUEL_TOGGLE,
                        className=f"control fuel-toggle {HIDDEN}",
                    ),
                    control(
                        "Granularity",
                        dcc.RadioItems(
                            id=ids.GRAPH_GRANULARITY,
                            options=[{"label": v, "value": k} for k, v in GRANULARITIES.items()],
                            value=AUTO,
                            inline=True,
                            className="segmented",
                        ),
                    ),
                    control(
                        "Show",
                        dcc.RadioItems(
                            id=ids.GRAPH_STACK,
                            options=[
                                {"label": "Total", "value": "total"},
                                {"label": f"Top {TOP_SITES} sites + other", "value": "stack"},
                            ],
                            value="total",
                            inline=True,
                            className="segmented",
                        ),
                    ),
                ],
                className="controls card graph-controls",
            ),
            html.Div(id=ids.GRAPH_MESSAGE, role="status"),
            html.Div(
                dcc.Graph(
                    id=ids.GRAPH_FIGURE,
                    config={
                        "displaylogo": False,
                        "scrollZoom": False,
                        "modeBarButtonsToRemove": ["lasso2d", "select2d"],
                    },
                    style={"height": "520px"},
                ),
                className="card graph-card",
            ),
            dcc.Loading(html.Div(id=ids.GRAPH_EXPECTED), type="dot"),
            html.Div(
                dcc.Graph(
                    id=ids.GRAPH_HEATMAP,
                    config={"displaylogo": False, "displayModeBar": False},
                    style={"height": "300px"},
                ),
                className="card graph-card",
            ),
            html.P(
                "Times are local (UK). Gaps are missing readings, never filled. Estimated readings are drawn apart. "
                "The faint line is the same period 52 weeks earlier; the dashed temperature is the forecast; the dotted "
                "line in a shaded band is the consumption the temperature models expect (90 % interval).",
                className="muted small",
            ),
            dcc.Store(id=ids.GRAPH_URL_CHECK, data=dict(url_check)),
            dcc.Store(id=ids.GRAPH_QUERY),
            html.Div(id=ids.GRAPH_URL_SINK, hidden=True),
        ],
        className="page graphs-page",
    )


# Callbacks ----------------------------------------------------------------------------------------


def _first_call(inputs: Mapping[str, object], url_check: Mapping[str, Any]) -> bool:
    triggered = [t for t in dash.callback_context.triggered_prop_ids if t != "."]
    return len(triggered) in (0, len(inputs)) and dict(inputs) == url_check.get("initial")


def update_selection(
    group: object,
    start_date: object,
    end_date: object,
    fuel: object,
    url_check: Mapping[str, Any] | None,
    stored: object,
) -> tuple[Any, ...]:
    """Validate the selection, share it (store + URL), and offer the group's sites and fuels."""
    check, today, controls = url_check or {}, local_today(), (dash.no_update,) * 3
    inputs = {"group": group, "from": start_date, "to": end_date, "fuel": fuel}
    initial = dict(check.get("initial") or {})
    restored = None
    if _first_call({**inputs, "fuel": initial.get("fuel")}, check) and not check.get("given"):
        restored = from_store(stored, today)
    if restored is not None:
        inputs = to_params(restored)
        controls = (inputs["group"], inputs["from"], inputs["to"])
    try:
        state = parse_state(inputs, today)
        session, viewer = request_session(), current_viewer()
        sites = load_graph_sites(session, group_site_ids(session, viewer, state.group))
    except UrlStateError as error:
        return (
            html.Div(f"This view cannot be shown: {error}.", className="alert", role="alert"),
            [],
            dash.no_update,
            f"control fuel-toggle {HIDDEN}",
            dash.no_update,
            dash.no_update,
        ) + controls
    except AccessDenied:
        return (
            html.Div(NOT_AVAILABLE, className="alert", role="alert"),
            [],
            dash.no_update,
            f"control fuel-toggle {HIDDEN}",
            dash.no_update,
            dash.no_update,
        ) + controls
    options = [{"label": "Whole portfolio", "value": WHOLE_PORTFOLIO}] + [
        {"label": f"{row.name} ({row.fuel})", "value": str(row.site_id)} for row in sites.itertuples(index=False)
    ]
    wanted = check.get("site") if _first_call({**inputs, "fuel": initial.get("fuel")}, check) else WHOLE_PORTFOLIO
    site_value = wanted if wanted in {o["value"] for o in options} else WHOLE_PORTFOLIO
    both = len(set(sites["fuel"])) > 1
    return (
        None,
        options,
        site_value,
        "control fuel-toggle" if both else f"control fuel-toggle {HIDDEN}",
        to_store(state),
        to_query(state),
    ) + controls


def _window(relayout: object) -> tuple[int, int] | None | bool:
    """The zoomed x range from plotly's relayoutData as UTC seconds; None to reset; False when not about x."""
    if not isinstance(relayout, Mapping):
        return False
    if relayout.get("xaxis.autorange") or relayout.get("autosize"):
        return None
    first, last = relayout.get("xaxis.range[0]"), relayout.get("xaxis.range[1]")
    if first is None and isinstance(relayout.get("xaxis.range"), list):
        first, last = relayout["xaxis.range"][:2]
    if first is None or last is None:
        return False
    try:
        lo, hi = (
            pd.Timestamp(str(v)).tz_localize(PORTFOLIO_ZONE, nonexistent="shift_forward", ambiguous=False)
            for v in (first, last)
        )
    except (ValueError, TypeError):
        return False
    if hi <= lo:
        return False
    return int(lo.timestamp()), int(hi.timestamp())


def _request(
    group: object,
    start_date: object,
    end_date: object,
    fuel: object,
    site: object,
    granularity: object,
    stack: object,
    window: tuple[int, int] | None,
) -> GraphRequest:
    state = parse_state(
        {"group": group, "from": start_date, "to": end_date, "fuel": fuel if fuel in ("power", "gas") else "both"},
        local_today(),
    )
    site_id = None
    if site not in (None, "", WHOLE_PORTFOLIO):
        try:
            site_id = int(str(site))
        except ValueError:
            raise AccessDenied(f"site {site!r} is not a site id") from None
    return GraphRequest(
        state.group,
        site_id,
        state.start,
        state.end,
        state.fuel,
        str(granularity) if granularity in GRANULARITIES else AUTO,
        stack == "stack",
        window,
    )


def update_graph(
    group: object,
    start_date: object,
    end_date: object,
    fuel: object,
    site: object,
    granularity: object,
    stack: object,
    relayout: object,
) -> tuple[Any, Any, Any]:
    """Draw the graph for the selection, or for the zoomed window when the user zoomed."""
    window = _window(relayout) if ctx.triggered_id == ids.GRAPH_FIGURE else None
    if window is False:
        return dash.no_update, dash.no_update, dash.no_update
    try:
        request = _request(group, start_date, end_date, fuel, site, granularity, stack, window)  # type: ignore[arg-type]
        result = make_graph(request_session(), current_viewer(), request)
    except (AccessDenied, UrlStateError):
        return go.Figure(), "", html.Div(NOT_AVAILABLE, className="alert", role="alert")
    return result.figure, result.note, None


def update_heatmap(group: object, start_date: object, end_date: object, fuel: object, site: object) -> go.Figure:
    try:
        request = _request(group, start_date, end_date, fuel, site, AUTO, "total", None)
        return make_profile(request_session(), current_viewer(), request)
    except (AccessDenied, UrlStateError):
        return go.Figure()


def update_expected(group: object, start_date: object, end_date: object, fuel: object, site: object) -> Any:
    try:
        request = _request(group, start_date, end_date, fuel, site, AUTO, "total", None)
        return make_expected(request_session(), current_viewer(), request)
    except (AccessDenied, UrlStateError):
        return None


def pick_range(clicks: list[int | None], end_date: object) -> tuple[Any, Any]:
    """7 days / 30 days / 1 year ending at the chosen end day (or yesterday)."""
    if not ctx.triggered_id or not any(clicks):
        return dash.no_update, dash.no_update
    days = int(ctx.triggered_id["days"])
    yesterday = local_today() - dt.timedelta(days=1)
    try:
        end = min(dt.date.fromisoformat(str(end_date)[:10]), yesterday)
    except ValueError:
        end = yesterday
    return (end - dt.timedelta(days=days - 1)).isoformat(), end.isoformat()


def register_callbacks(app: Dash) -> None:
    """Bind the graph page's callbacks to ``app`` (Dash re-imports page modules per app)."""
    app.callback(
        Output(ids.GRAPH_MESSAGE, "children"),
        Output(ids.GRAPH_SITE, "options"),
        Output(ids.GRAPH_SITE, "value"),
        Output(ids.GRAPH_FUEL_TOGGLE, "className"),
        Output(ids.PORTFOLIO_STATE, "data", allow_duplicate=True),
        Output(ids.GRAPH_QUERY, "data"),
        Output(ids.GRAPH_GROUP, "value"),
        Output(ids.GRAPH_DATES, "start_date"),
        Output(ids.GRAPH_DATES, "end_date"),
        Input(ids.GRAPH_GROUP, "value"),
        Input(ids.GRAPH_DATES, "start_date"),
        Input(ids.GRAPH_DATES, "end_date"),
        Input(ids.GRAPH_FUEL, "value"),
        State(ids.GRAPH_URL_CHECK, "data"),
        State(ids.PORTFOLIO_STATE, "data"),
        prevent_initial_call="initial_duplicate",
    )(update_selection)
    app.callback(
        Output(ids.GRAPH_FIGURE, "figure"),
        Output(ids.GRAPH_NOTE, "children"),
        Output(ids.GRAPH_MESSAGE, "children", allow_duplicate=True),
        Input(ids.GRAPH_GROUP, "value"),
        Input(ids.GRAPH_DATES, "start_date"),
        Input(ids.GRAPH_DATES, "end_date"),
        Input(ids.GRAPH_FUEL, "value"),
        Input(ids.GRAPH_SITE, "value"),
        Input(ids.GRAPH_GRANULARITY, "value"),
        Input(ids.GRAPH_STACK, "value"),
        Input(ids.GRAPH_FIGURE, "relayoutData"),
        prevent_initial_call="initial_duplicate",
    )(update_graph)
    app.callback(
        Output(ids.GRAPH_HEATMAP, "figure"),
        Input(ids.GRAPH_GROUP, "value"),
        Input(ids.GRAPH_DATES, "start_date"),
        Input(ids.GRAPH_DATES, "end_date"),
        Input(ids.GRAPH_FUEL, "value"),
        Input(ids.GRAPH_SITE, "value"),
    )(update_heatmap)
    app.callback(
        Output(ids.GRAPH_EXPECTED, "children"),
        Input(ids.GRAPH_GROUP, "value"),
        Input(ids.GRAPH_DATES, "start_date"),
        Input(ids.GRAPH_DATES, "end_date"),
        Input(ids.GRAPH_FUEL, "value"),
        Input(ids.GRAPH_SITE, "value"),
    )(update_expected)
    app.callback(
        Output(ids.GRAPH_DATES, "start_date", allow_duplicate=True),
        Output(ids.GRAPH_DATES, "end_date", allow_duplicate=True),
        Input({"type": ids.GRAPH_RANGE_BUTTON, "days": ALL}, "n_clicks"),
        State(ids.GRAPH_DATES, "end_date"),
        prevent_initial_call=True,
    )(pick_range)
    app.clientside_callback(
        ClientsideFunction(namespace="portfolio", function_name="replaceSearch"),
        Output(ids.GRAPH_URL_SINK, "children"),
        Input(ids.GRAPH_QUERY, "data"),
    )
