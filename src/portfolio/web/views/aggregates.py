"""The admin Aggregates page: consumption across customers by region or profile class under the 15/15 rule.

One click computes the cells, shows them (refused ones with their reason, never dropped) and downloads the CSV;
each release is audited by the service. Admins only, checked through :mod:`portfolio.access` in the service.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from dash import Dash, Input, Output, State, dcc, html, no_update

from portfolio.access import AccessDenied
from portfolio.analytics.aggregates import MAX_SHARE_PCT, MIN_CUSTOMERS
from portfolio.services.aggregates import AggregateError, parse_aggregate_request, release_aggregates

from .. import ids
from ..components import date_input, make_data_table, make_field
from ..context import current_viewer, request_session, signed_in_user
from ..inputs import as_choice, as_count, as_optional_date

BY_OPTIONS = [
    {"value": "region", "label": "Region (postcode area)"},
    {"value": "profile-class", "label": "Profile class"},
]
PERIOD_OPTIONS = [{"value": "day", "label": "Day"}, {"value": "month", "label": "Month"}]


def make_refusal() -> html.Section:
    return html.Section(
        [html.H1("Aggregates"), html.P("This page is for administrators only.", className="alert", role="alert")],
        className="page aggregates-page",
    )


def make_aggregates_layout(today: dt.date) -> html.Section:
    first = (today.replace(day=1) - dt.timedelta(days=1)).replace(day=1)
    last = today.replace(day=1) - dt.timedelta(days=1)
    return html.Section(
        [
            html.Div(
                [
                    html.H1("Aggregates"),
                    html.P(
                        f"Consumption summed across customers. A cell is released only when at least {MIN_CUSTOMERS} "
                        f"customers contribute and none is more than {MAX_SHARE_PCT:g} % of it; any other cell is "
                        "refused, with the reason, in the file. Every release is audited.",
                        className="muted",
                    ),
                ],
                className="page-header",
            ),
            html.Div(
                [
                    html.Div(
                        [
                            make_field(
                                "By",
                                dcc.Dropdown(id=ids.AGGREGATES_BY, options=BY_OPTIONS, value="region", clearable=False),
                                ids.AGGREGATES_BY,
                            ),
                            make_field(
                                "Per",
                                dcc.Dropdown(
                                    id=ids.AGGREGATES_PERIOD, options=PERIOD_OPTIONS, value="month", clearable=False
                                ),
                                ids.AGGREGATES_PERIOD,
                            ),
                            make_field("From", date_input(ids.AGGREGATES_FROM, first.isoformat()), ids.AGGREGATES_FROM),
                            make_field("To", date_input(ids.AGGREGATES_TO, last.isoformat()), ids.AGGREGATES_TO),
                        ],
                        className="controls",
                    ),
                    html.Button(
                        "Release and download CSV", id=ids.AGGREGATES_RUN, className="button button-primary", n_clicks=0
                    ),
                    dcc.Download(id=ids.AGGREGATES_FILE),
                ],
                className="card",
            ),
            html.Div(id=ids.AGGREGATES_RESULT, role="status"),
        ],
        className="page aggregates-page",
    )


COLUMNS: list[dict[str, Any]] = [
    {"id": "period", "name": "Period"},
    {"id": "group", "name": "Region / profile class"},
    {"id": "fuel", "name": "Fuel"},
    {"id": "customers", "name": "Customers", "type": "numeric"},
    {"id": "energy_kwh", "name": "kWh", "type": "numeric", "format": ",.1f", "missing": "refused"},
    {"id": "suppressed_reason", "name": "Refused because", "wrap": True},
]


def update_aggregates(clicks: Any, by: Any, period: Any, start: Any, end: Any) -> tuple[Any, Any]:
    """Release the cells (admins only): show them and send the CSV; a bad request or refusal is a message."""
    clicks = as_count(clicks)
    by = as_choice(by, ("region", "profile-class"), "by")
    period = as_choice(period, ("day", "month"), "period")
    first, last = as_optional_date(start, "from"), as_optional_date(end, "to")
    if not clicks or signed_in_user() is None:
        return no_update, no_update
    try:
        request = parse_aggregate_request(by, period, first, last)
        release = release_aggregates(request_session(), current_viewer(), request, via="web")
    except (AggregateError, AccessDenied) as error:
        return html.P(str(error), className="alert", role="alert"), no_update
    rows = [dict(r, group=r.get("region", r.get("profile_class"))) for r in release.records()]
    summary = html.P(
        f"{len(rows)} cells: {release.released} released, {release.suppressed} refused.", className="notice"
    )
    table = make_data_table(ids.AGGREGATES_TABLE, COLUMNS, data=rows)
    return html.Div([summary, table], className="card"), {
        "content": release.as_csv(),
        "filename": release.file_name(),
        "type": "text/csv",
    }


def register_callbacks(app: Dash) -> None:
    app.callback(
        Output(ids.AGGREGATES_RESULT, "children"),
        Output(ids.AGGREGATES_FILE, "data"),
        Input(ids.AGGREGATES_RUN, "n_clicks"),
        State(ids.AGGREGATES_BY, "value"),
        State(ids.AGGREGATES_PERIOD, "value"),
        State(ids.AGGREGATES_FROM, "value"),
        State(ids.AGGREGATES_TO, "value"),
        prevent_initial_call=True,
    )(update_aggregates)
