"""The graph page's layout: the selection controls, the graph, its CSV download, the expected panel and the
heat map, all filled by the callbacks in ``web/views/graphs.py``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from dash import dcc, html

from portfolio.analytics.resolution import AUTO
from portfolio.services.graphs import TOP_SITES

from .. import ids
from ..components import aria, date_range
from .portfolio_layout import initial_state as portfolio_initial_state

WHOLE_PORTFOLIO = "portfolio"
GRANULARITIES = {AUTO: "Auto", "day": "Daily", "hour": "Hourly", "hh": "Half-hourly"}
RANGE_BUTTONS = {7: "7 days", 30: "30 days", 365: "1 year"}
HIDDEN = "hidden"


def granularity_options(finest: str) -> list[dict[str, Any]]:
    """The granularity choices, those finer than the meters allow disabled with the reason in their label."""
    finer = {"hh": (), "hour": ("hh",), "day": ("hh", "hour")}.get(finest, ())
    return [
        {"label": f"{label} (meters are hourly)" if key in finer else label, "value": key, "disabled": key in finer}
        for key, label in GRANULARITIES.items()
    ]


def initial_state(query: Mapping[str, object], today: dt.date) -> tuple[Any, dict[str, Any]]:
    """Like the portfolio list: the URL chooses the view, or the first callback restores the shared state."""
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
        # Dash's dropdowns and radio lists do not take aria-label: the wrapping group carries the name
        label_id = f"{kwargs.get('id') or for_id or 'graph-' + label.lower().replace(' ', '-')}-label"
        heading = html.Span(label, className="control-label", id=label_id)
        return html.Div(
            [heading, child],
            className=kwargs.pop("className", "control"),
            role="group",
            **aria(labelledby=label_id),
            **kwargs,
        )

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
                                date_range(
                                    ids.GRAPH_DATES, state.start.isoformat(), state.end.isoformat(), today.isoformat()
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
                            options=granularity_options("hh"),
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
            html.P(id=ids.GRAPH_SUMMARY, className="visually-hidden", **aria(live="polite")),
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
            html.Div(
                [
                    html.Button(
                        "Download the graph's data (CSV)",
                        id=ids.GRAPH_CSV_BUTTON,
                        n_clicks=0,
                        className="button button-secondary",
                    ),
                    html.Span(" metered and estimated-for-missing in separate columns", className="muted small"),
                    dcc.Download(id=ids.GRAPH_CSV),
                ],
                className="graph-csv",
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
                "Times are local (UK). Gaps are missing readings, never filled. Lighter, dotted bars are partial "
                "(some half hours or sites missing); the pink hatched segment is the models' estimate for the missing "
                "sites, never metered, with its 90 % interval; the strip below counts the sites reporting. The blue "
                "line below is the temperature (dashed: forecast; shaded: the future). 'Last year' is the same period "
                "52 weeks earlier; 'Expected' is what the temperature models expect (90 % interval).",
                className="muted small",
            ),
            dcc.Store(id=ids.GRAPH_URL_CHECK, data=dict(url_check)),
            dcc.Store(id=ids.GRAPH_QUERY),
            dcc.Store(id=ids.GRAPH_SITE_CHOICE),
            dcc.Store(id=ids.GRAPH_ZOOM),
            html.Div(id=ids.GRAPH_URL_SINK, hidden=True),
        ],
        className="page graphs-page",
    )
