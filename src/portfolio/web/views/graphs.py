"""The consumption graph page: a site or a whole portfolio group, any range, resolution following the zoom.

Kept out of ``pages/`` so tests and the benchmark can import it; ``pages/graphs.py`` registers the page and
builds its layout from ``web/views/graphs_layout.py``.
:func:`portfolio.services.graphs_kept.view_graph` is the whole server side of one graph; the callbacks unpack
the request, call it and hand the figure back. Zooming sends ``relayoutData`` (wall-clock times on the
graph's axis, in the graph's zone), filtered in the browser (``assets/graphs.js``: Plotly's own
``{'autosize': True}`` never reaches the server) into a store: :func:`zoom_window` turns it into a UTC window.
A fuel toggle is handled in the browser too (``graphs.chooseSite``): the graphs' requests wait on no server round.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from typing import Any

import dash
import plotly.graph_objects as go
from dash import ALL, ClientsideFunction, Dash, Input, Output, State, ctx, html
from sqlalchemy.orm import Session

from portfolio.access import AccessDenied, Viewer
from portfolio.analytics.resolution import AUTO
from portfolio.queries.graphs import load_graph_sites
from portfolio.services.graphs import (
    GraphRequest,
    graph_time_zone,
    load_expected_scope,
    make_graph_csv,
)
from portfolio.services.graphs_kept import view_graph
from portfolio.services.graphs_profile import make_profile
from portfolio.services.groups import group_site_ids
from portfolio.timekeeping import (
    local_today,
    local_wall_time_ts,
)

from .. import ids
from ..context import app_state, current_viewer, request_session
from ..inputs import as_mapping
from ..url_state import UrlStateError, from_store, parse_state, to_params, to_query, to_store
from .expected import make_expected_panel
from .graphs_layout import GRANULARITIES, HIDDEN, WHOLE_PORTFOLIO, granularity_options
from .portfolio_layout import is_first_call

NOT_AVAILABLE = "This group or site is not available to you: it does not exist, or belongs to someone else."


def make_expected(session: Session, viewer: Viewer, request: GraphRequest, now: dt.datetime | None = None) -> html.Div:
    """The expected-consumption summary and model quality for the graph's sites (same access checks)."""
    scope = load_expected_scope(session, viewer, request, now)
    return make_expected_panel(
        session,
        scope.sites,
        scope.start_ts,
        scope.end_ts,
        scope.today_start_ts,
        ids.GRAPH_MODEL_TABLE,
        time_zone=scope.time_zone,
        as_before=None if scope.before is None else scope.before.version,
        sites_before=scope.sites_before,
        version=scope.version,
    )


# Callbacks ----------------------------------------------------------------------------------------


def site_label(name: str, fuel: str) -> str:
    """A site's name with its fuel, unless the name says it already ("Tower (electricity)" is not doubled)."""
    words = {"power": ("electricity", "power"), "gas": ("gas",)}.get(fuel, (fuel,))
    if any(word in name.lower() for word in words):
        return name
    return f"{name} · {'Electricity' if fuel == 'power' else fuel.title()}"


def update_selection(
    group: object,
    start_date: object,
    end_date: object,
    fuel: object,
    url_check: Mapping[str, Any] | None,
    stored: object,
) -> tuple[Any, ...]:
    """Validate the selection, share it (store + URL), and offer the group's sites and fuels."""
    check, today = as_mapping(url_check, "the URL check"), local_today()
    controls: tuple[object, ...] = (dash.no_update,) * 3
    inputs: Mapping[str, object] = {"group": group, "from": start_date, "to": end_date, "fuel": fuel}
    initial = dict(as_mapping(check.get("initial"), "the URL check's initial values"))
    restored = None
    first = is_first_call({**inputs, "fuel": initial.get("fuel")}, check, triggers=3)  # the fuel is a State
    if first and not check.get("given"):
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
        {"label": site_label(str(row.name), str(row.fuel)), "value": str(row.site_id)}
        for row in sites.itertuples(index=False)
    ]
    wanted = check.get("site") if first else WHOLE_PORTFOLIO
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


def zoom_range(relayout: object) -> tuple[object, object] | None | bool:
    """The zoomed x range from plotly's relayoutData as sent (wall-clock times); None to reset; False when not about x.

    Plotly sends ``{'autosize': True}`` once the figure is first drawn: that is no user action and must not run
    the graph a second time (False: nothing to do).
    """
    if not isinstance(relayout, Mapping):
        return False
    if relayout.get("xaxis.autorange"):
        return None
    first, last = relayout.get("xaxis.range[0]"), relayout.get("xaxis.range[1]")
    if first is None and isinstance(relayout.get("xaxis.range"), list):
        first, last = relayout["xaxis.range"][:2]
    if first is None or last is None:
        return False
    return first, last


def zoom_window(relayout: object, time_zone: str) -> tuple[int, int] | None | bool:
    """The zoomed x range as a UTC window [epoch s); None to reset; False when not about x or not readable.

    The axis shows wall-clock times in the graph's zone (the site's own zone for one site), so the range is
    read in ``time_zone``: reading a Los Angeles site's zoom as UK time would fetch a window 8 hours off.
    """
    zoom = zoom_range(relayout)
    if not isinstance(zoom, tuple):
        return zoom
    try:
        lo, hi = (local_wall_time_ts(str(v), time_zone) for v in zoom)
    except (ValueError, TypeError):
        return False
    if hi <= lo:
        return False
    return lo, hi


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
) -> tuple[Any, ...]:
    """Draw the graph for the selection, or for the zoomed window when the user zoomed."""
    zoomed = ctx.triggered_id == ids.GRAPH_ZOOM
    unchanged = (dash.no_update,) * 5
    if zoomed and zoom_range(relayout) is False:
        return unchanged
    try:
        request = _request(group, start_date, end_date, fuel, site, granularity, stack, None)
        session, viewer = request_session(), current_viewer()
        if zoomed:
            window = zoom_window(relayout, graph_time_zone(session, viewer, request))
            if window is False:
                return unchanged
            request = dataclasses.replace(request, window=window)  # type: ignore[arg-type]
        result = view_graph(session, viewer, request, retention_days=app_state().settings.retention_days)
    except (AccessDenied, UrlStateError):
        alert = html.Div(NOT_AVAILABLE, className="alert", role="alert")
        return go.Figure(), "", alert, "", dash.no_update
    return result.figure, result.note, None, result.summary, granularity_options(result.finest)


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


def download_csv(
    clicks: object, group: object, start_date: object, end_date: object, fuel: object, site: object, granularity: object
) -> Any:
    """The drawn graph's buckets as CSV (the whole range; same access checks as the graph)."""
    if not clicks:
        return dash.no_update
    try:
        request = _request(group, start_date, end_date, fuel, site, granularity, "total", None)
        text = make_graph_csv(request_session(), current_viewer(), request)
    except (AccessDenied, UrlStateError):
        return dash.no_update
    return {"content": text, "filename": f"graph-{request.start}-{request.end}.csv", "type": "text/csv"}


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
        Output(ids.GRAPH_SITE_CHOICE, "data"),  # to the site dropdown through graphs.chooseSite
        Output(ids.GRAPH_FUEL_TOGGLE, "className"),
        Output(ids.PORTFOLIO_STATE, "data", allow_duplicate=True),
        Output(ids.GRAPH_QUERY, "data"),
        Output(ids.GRAPH_GROUP, "value"),
        Output(ids.GRAPH_DATES, "start_date"),
        Output(ids.GRAPH_DATES, "end_date"),
        Input(ids.GRAPH_GROUP, "value"),
        Input(ids.GRAPH_DATES, "start_date"),
        Input(ids.GRAPH_DATES, "end_date"),
        State(ids.GRAPH_FUEL, "value"),  # a toggle is graphs.chooseSite's, in the browser
        State(ids.GRAPH_URL_CHECK, "data"),
        State(ids.PORTFOLIO_STATE, "data"),
        prevent_initial_call="initial_duplicate",
    )(update_selection)
    app.clientside_callback(  # in the browser: a fuel toggle costs the graphs one server round, not two
        ClientsideFunction(namespace="graphs", function_name="chooseSite"),
        Output(ids.GRAPH_SITE, "value"),
        Output(ids.GRAPH_QUERY, "data", allow_duplicate=True),
        Output(ids.PORTFOLIO_STATE, "data", allow_duplicate=True),
        Input(ids.GRAPH_SITE_CHOICE, "data"),
        Input(ids.GRAPH_FUEL, "value"),
        State(ids.GRAPH_SITE, "value"),
        State(ids.GRAPH_QUERY, "data"),
        State(ids.PORTFOLIO_STATE, "data"),
        prevent_initial_call="initial_duplicate",
    )
    app.callback(
        Output(ids.GRAPH_FIGURE, "figure"),
        Output(ids.GRAPH_NOTE, "children"),
        Output(ids.GRAPH_MESSAGE, "children", allow_duplicate=True),
        Output(ids.GRAPH_SUMMARY, "children"),
        Output(ids.GRAPH_GRANULARITY, "options"),
        Input(ids.GRAPH_GROUP, "value"),
        Input(ids.GRAPH_DATES, "start_date"),
        Input(ids.GRAPH_DATES, "end_date"),
        Input(ids.GRAPH_FUEL, "value"),
        Input(ids.GRAPH_SITE, "value"),
        Input(ids.GRAPH_GRANULARITY, "value"),
        Input(ids.GRAPH_STACK, "value"),
        Input(ids.GRAPH_ZOOM, "data"),
        prevent_initial_call="initial_duplicate",
    )(update_graph)
    app.clientside_callback(  # no server request for Plotly's own {autosize: true} after drawing
        ClientsideFunction(namespace="graphs", function_name="userRelayout"),
        Output(ids.GRAPH_ZOOM, "data"),
        Input(ids.GRAPH_FIGURE, "relayoutData"),
        prevent_initial_call=True,
    )
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
        Output(ids.GRAPH_CSV, "data"),
        Input(ids.GRAPH_CSV_BUTTON, "n_clicks"),
        State(ids.GRAPH_GROUP, "value"),
        State(ids.GRAPH_DATES, "start_date"),
        State(ids.GRAPH_DATES, "end_date"),
        State(ids.GRAPH_FUEL, "value"),
        State(ids.GRAPH_SITE, "value"),
        State(ids.GRAPH_GRANULARITY, "value"),
        prevent_initial_call=True,
    )(download_csv)
    app.callback(
        Output(ids.GRAPH_DATES, "start_date", allow_duplicate=True),
        Output(ids.GRAPH_DATES, "end_date", allow_duplicate=True),
        Input({"type": ids.GRAPH_RANGE_BUTTON, "days": ALL}, "n_clicks"),
        State(ids.GRAPH_DATES, "end_date"),
        prevent_initial_call=True,
    )(pick_range)
    app.clientside_callback(
        ClientsideFunction(namespace="portfolio", function_name="replaceSearchWithSite"),
        Output(ids.GRAPH_URL_SINK, "children"),
        Input(ids.GRAPH_QUERY, "data"),
        Input(ids.GRAPH_SITE, "value"),
    )
