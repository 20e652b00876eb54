"""The portfolio page's layout: controls, totals, the list and missing-locations tables, and the URL check.

:func:`initial_state` parses the page's URL into the state the layout starts from; :func:`is_first_call`
lets a callback tell the call Dash makes when the page appears from a user's change (the graph page shares
both). The callbacks that fill the layout live in ``web/views/portfolio.py``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import dash
from dash import dcc, html

from .. import ids
from ..components import aria, date_range, make_data_table
from ..url_state import (
    FUELS,
    URL_KEYS,
    PortfolioState,
    UrlStateError,
    default_state,
    parse_state,
    to_params,
)

NEVER = "never"
FUEL_TOGGLE_LABELS = {"power": "Power", "gas": "Gas", "both": "Both"}
HIDDEN = "hidden"
LIST_COLUMNS: list[dict[str, Any]] = [
    {"id": "name", "name": "Site", "wrap": True, "min_width": 280},
    {"id": "organisation", "name": "Organisation", "wrap": True, "min_width": 160},
    {"id": "fuel", "name": "Fuel"},
    {"id": "meter_type", "name": "Meter type"},
    {"id": "interval", "name": "Interval"},
    {
        "id": "energy_kwh",
        "name": "Total [kWh]",
        "type": "numeric",
        "format": ",.0f",
        "missing": "no data",
    },
    {
        "id": "share",
        "name": "Share of fuel",
        "type": "numeric",
        "format": ".1%",
        "missing": "—",
    },
    {
        "id": "coverage",
        "name": "Data coverage",
        "type": "numeric",
        "format": ".1%",
        "classes": {"cell-warn": "params.value < 0.9", "cell-bad": "params.value === 0"},
    },
    {"id": "last_reading", "name": "Last reading", "classes": {"cell-muted": f"params.value === '{NEVER}'"}},
]
MISSING_COLUMNS: list[dict[str, Any]] = [
    {"id": "name", "name": "Site", "wrap": True, "min_width": 280},
    {"id": "fuel", "name": "Fuel"},
    {"id": "meter_type", "name": "Meter type"},
    {"id": "last_reading", "name": "Last reading", "classes": {"cell-muted": f"params.value === '{NEVER}'"}},
]


def _table(table_id: str, columns: list[dict[str, Any]], page_size: int) -> html.Div:
    return make_data_table(table_id, columns, page_size=page_size)


def initial_state(query: Mapping[str, object], today: dt.date) -> tuple[PortfolioState | None, dict[str, Any]]:
    """Parse the page's URL; the second value tells the first callback whether the URL chose the view
    (if not, it restores the tab's last state from the shell's store) or was bad (it shows the problem),
    and which control values the layout starts with (so it can tell the first call from a user's change).
    """
    given = {key: query[key] for key in URL_KEYS if key in query}
    fallback = to_params(default_state(today))
    if not given:
        return default_state(today), {"given": False, "error": None, "initial": fallback}
    try:
        state = parse_state(given, today)
    except UrlStateError as error:
        return None, {"given": True, "error": str(error), "initial": fallback}
    return state, {"given": True, "error": None, "initial": to_params(state)}


def is_first_call(inputs: Mapping[str, object], url_check: Mapping[str, Any], triggers: int | None = None) -> bool:
    """The call Dash makes when the page appears: every input "changed" (or none did), values as laid out.

    Dash reports all inputs of freshly inserted components as changed, so the trigger alone cannot tell.
    ``triggers`` is the callback's number of Inputs when ``inputs`` also holds States' values.
    """
    triggered = [t for t in dash.callback_context.triggered_prop_ids if t != "."]
    every_input = len(inputs) if triggers is None else triggers
    return len(triggered) in (0, every_input) and dict(inputs) == url_check.get("initial")


def make_portfolio_layout(
    options: Sequence[tuple[str, str, bool]], state: PortfolioState, url_check: Mapping[str, Any], today: dt.date
) -> html.Section:
    """The page: controls, per-fuel totals, the list, and the (closed) missing-locations panel."""
    choices = [{"label": label, "value": value} for value, label, _ in options]
    if options and state.group not in {value for value, _, _ in options}:
        # Keep a linked group that is not the viewer's selectable, or the dropdown would clear it and the
        # page would quietly switch to "All sites" instead of saying the link is not available.
        choices.append({"label": f"Group {state.group} (not available)", "value": state.group})
    return html.Section(
        [
            html.Div(
                [
                    html.H1("Portfolio"),
                    html.P(id=ids.PORTFOLIO_RANGE_NOTE, className="muted"),
                    html.Div(
                        [  # the same selection on the other portfolio pages
                            dcc.Link(
                                "Graphs for this selection",
                                id=ids.PORTFOLIO_GRAPHS_LINK,
                                href="/graphs",
                                className="button button-secondary",
                            ),
                            dcc.Link(
                                "Export this selection",
                                id=ids.PORTFOLIO_EXPORT_LINK,
                                href="/export",
                                className="button button-secondary",
                            ),
                        ],
                        className="page-actions",
                    ),
                ],
                className="page-header",
            ),
            html.Div(
                [
                    html.Div(
                        [
                            html.Label("Group", htmlFor=ids.PORTFOLIO_GROUP, className="control-label"),
                            dcc.Dropdown(
                                id=ids.PORTFOLIO_GROUP,
                                options=choices,
                                value=state.group,
                                clearable=False,
                                searchable=True,
                                className="group-dropdown",
                            ),
                        ],
                        className="control",
                    ),
                    html.Div(
                        [
                            html.Label("Local days", htmlFor=ids.PORTFOLIO_DATES, className="control-label"),
                            date_range(
                                ids.PORTFOLIO_DATES, state.start.isoformat(), state.end.isoformat(), today.isoformat()
                            ),
                        ],
                        className="control",
                    ),
                    html.Div(
                        [
                            html.Span("Fuel", className="control-label"),
                            dcc.RadioItems(
                                id=ids.PORTFOLIO_FUEL,
                                options=[{"label": FUEL_TOGGLE_LABELS[f], "value": f} for f in FUELS],
                                value=state.fuel,
                                inline=True,
                                className="segmented",
                            ),
                        ],
                        id=ids.PORTFOLIO_FUEL_TOGGLE,
                        className=f"control fuel-toggle {HIDDEN}",
                    ),
                ],
                className="controls card",
            ),
            html.Div(id=ids.PORTFOLIO_MESSAGE, role="status"),
            html.Div(
                [
                    html.Div(id=ids.PORTFOLIO_TOTALS, className="totals"),
                    html.Div(
                        [
                            html.P(id=ids.PORTFOLIO_MISSING_SUMMARY, className="list-summary"),
                            html.Button(
                                "View missing locations",
                                id=ids.PORTFOLIO_MISSING_BUTTON,
                                n_clicks=0,
                                className=HIDDEN,
                                **aria(controls=ids.PORTFOLIO_MISSING_PANEL),
                            ),
                        ],
                        className="list-header",
                    ),
                    html.Div(
                        [
                            html.H2("Missing locations"),
                            html.P(
                                "Sites with no reading at all in this range, and when we last heard from them.",
                                className="muted",
                            ),
                            html.Div(_table(ids.PORTFOLIO_MISSING_TABLE, MISSING_COLUMNS, 25), className="card"),
                        ],
                        id=ids.PORTFOLIO_MISSING_PANEL,
                        className=f"missing-panel {HIDDEN}",
                    ),
                    html.Div(_table(ids.PORTFOLIO_TABLE, LIST_COLUMNS, 50), className="card"),
                    html.P(
                        "Coverage is intervals received / intervals expected in each site's local time (a clock-change "
                        "day has 46 or 50 half hours). Gaps are shown as they are, never filled. Shares are within a fuel.",
                        className="muted small",
                    ),
                ],
                id=ids.PORTFOLIO_BODY,
                className=f"portfolio-body {HIDDEN}",
            ),
            dcc.Store(id=ids.PORTFOLIO_URL_CHECK, data=dict(url_check)),
            dcc.Store(id=ids.PORTFOLIO_QUERY),
            html.Div(id=ids.PORTFOLIO_URL_SINK, hidden=True),
        ],
        className="page portfolio-page",
    )
