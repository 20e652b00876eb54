"""The admin Sites page: every site with its organisation, the unknown-meter queue, and moving a site.

Moving a queued meter's site to an organisation is how a meter that arrived for no known organisation is assigned.
The callback re-checks the signed-in user (admins only, through :mod:`portfolio.access` in the service) and
validates every input; a refused or impossible move is a message, never a 500.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from dash import Dash, Input, Output, State, dcc, html, no_update
from sqlalchemy.orm import Session

from portfolio.access import AccessDenied, Viewer
from portfolio.services import admin_sites as service

from .. import ids
from ..components import make_data_table, make_field, uk_time_text
from ..context import current_viewer, request_session, signed_in_user
from ..inputs import as_count, as_optional_id, as_optional_text

SITE_COLUMNS: list[dict[str, Any]] = [
    {"id": "site_id", "name": "Id", "type": "numeric"},
    {"id": "site", "name": "Site"},
    {"id": "organisation", "name": "Organisation"},
    {"id": "account_number", "name": "Account"},
    {"id": "fuel", "name": "Fuel"},
    {"id": "postcode", "name": "Postcode"},
    {"id": "meters", "name": "Meters", "wrap": True},
]
QUEUE_COLUMNS: list[dict[str, Any]] = [
    {"id": "site_id", "name": "Site id", "type": "numeric"},
    {"id": "meters", "name": "Meter identifier"},
    {"id": "fuel", "name": "Fuel"},
    {"id": "file", "name": "File", "wrap": True},
    {"id": "readings", "name": "Readings", "type": "numeric", "format": ","},
    {"id": "first_reading", "name": "First reading"},
    {"id": "last_reading", "name": "Last reading"},
    {"id": "first_seen", "name": "First seen"},
    {"id": "last_seen", "name": "Last seen"},
]


def make_refusal() -> html.Section:
    return html.Section(
        [html.H1("Site admin"), html.P("This page is for administrators only.", className="alert", role="alert")],
        className="page admin-sites-page",
    )


def _local(value: Any) -> str:
    if value is None or value is pd.NaT or (isinstance(value, float) and value != value):
        return ""
    return uk_time_text(pd.Timestamp(value).to_pydatetime(), missing="")


def _rows(frame: pd.DataFrame, times: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = [
        {str(k): v for k, v in r.items()} for r in frame.astype(object).where(frame.notna(), None).to_dict("records")
    ]
    for record in records:
        for column in times:
            record[column] = _local(record[column])
    return records


def load_tables(session: Session, viewer: Viewer) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[Any]]:
    """(site rows, queue rows, site options: queued sites first) for an admin."""
    sites = service.load_sites(session, viewer)
    queue = service.load_queue(session, viewer)
    queued = set(queue["site_id"].tolist())
    options = [
        {
            "value": int(r["site_id"]),
            "label": f"{'[queue] ' if r['site_id'] in queued else ''}{r['site']} — {r['organisation']} (#{r['site_id']})",
        }
        for r in sorted(sites.to_dict("records"), key=lambda r: (r["site_id"] not in queued, r["site"], r["site_id"]))
    ]
    times = ("first_reading", "last_reading", "first_seen", "last_seen")
    return _rows(sites), _rows(queue, times), options


def make_admin_sites_layout(session: Session | None, viewer: Viewer | None) -> html.Section:
    """The page; without a session (Dash validating layouts outside a request) the empty frame."""
    sites: list[dict[str, Any]] = []
    queue: list[dict[str, Any]] = []
    site_options: list[Any] = []
    organisations: list[dict[str, Any]] = []
    if session is not None and viewer is not None:
        sites, queue, site_options = load_tables(session, viewer)
        organisations = [
            {"value": i, "label": label} for i, label in service.load_organisation_choices(session, viewer)
        ]
    move = html.Div(
        [
            html.H2("Move a site, or assign a queued meter"),
            html.P(
                "The site's readings, portfolio series and expected consumption move with it at once. It leaves the "
                "groups of people who can no longer see it; grants follow the organisation. Recorded in both "
                "organisations' audit trails.",
                className="muted",
            ),
            html.Div(
                [
                    make_field("Site", dcc.Dropdown(id=ids.ADMIN_SITE, options=site_options), ids.ADMIN_SITE),
                    make_field(
                        "To organisation",
                        dcc.Dropdown(id=ids.ADMIN_SITE_ORG, options=organisations),
                        ids.ADMIN_SITE_ORG,
                    ),
                    make_field(
                        "Type the site's name to confirm",
                        dcc.Input(id=ids.ADMIN_SITE_CONFIRM, type="text", maxLength=200, autoComplete="off"),
                        ids.ADMIN_SITE_CONFIRM,
                    ),
                ],
                className="controls",
            ),
            html.Button("Move site", id=ids.ADMIN_SITE_MOVE, className="button button-primary", n_clicks=0),
            html.Div(id=ids.ADMIN_SITE_RESULT, role="status"),
        ],
        className="card",
    )
    return html.Section(
        [
            html.Div(
                [
                    html.H1("Site admin"),
                    html.P("Every site with its organisation, and meters no organisation claims.", className="muted"),
                ],
                className="page-header",
            ),
            move,
            html.Div(
                [
                    html.H2("Meters for no known organisation"),
                    html.P(
                        "Imports keep the readings of meters no site knows on a site of the Unassigned organisation "
                        "(nothing is dropped). Assign one by moving its site above.",
                        className="muted",
                    ),
                    make_data_table(ids.ADMIN_QUEUE_TABLE, QUEUE_COLUMNS, data=queue, page_size=10),
                ],
                className="card",
            ),
            html.Div(
                [html.H2("All sites"), make_data_table(ids.ADMIN_SITES_TABLE, SITE_COLUMNS, data=sites)],
                className="card",
            ),
        ],
        className="page admin-sites-page",
    )


def update_site_move(clicks: Any, site_id: Any, organisation_id: Any, confirm: Any) -> tuple[Any, Any, Any, Any]:
    """Move the chosen site (admins only) and show the outcome with the tables as they now are."""
    clicks = as_count(clicks)
    site = as_optional_id(site_id, "site")
    organisation = as_optional_id(organisation_id, "organisation")
    confirm_name = as_optional_text(confirm, "the confirmation", 200)
    if not clicks or signed_in_user() is None:
        return no_update, no_update, no_update, no_update
    if site is None or organisation is None:
        return (
            html.P("Choose a site and an organisation.", className="alert", role="alert"),
            no_update,
            no_update,
            no_update,
        )
    session, viewer = request_session(), current_viewer()
    try:
        moved = service.move_site(session, viewer, site, organisation, confirm_name)
    except (AccessDenied, service.SiteMoveError) as error:
        session.rollback()
        return html.P(str(error), className="alert", role="alert"), no_update, no_update, no_update
    sites, queue, options = load_tables(session, viewer)
    return html.P(moved.message(), className="notice"), sites, queue, options


def register_callbacks(app: Dash) -> None:
    app.callback(
        Output(ids.ADMIN_SITE_RESULT, "children"),
        Output(ids.ADMIN_SITES_TABLE, "rowData"),
        Output(ids.ADMIN_QUEUE_TABLE, "rowData"),
        Output(ids.ADMIN_SITE, "options"),
        Input(ids.ADMIN_SITE_MOVE, "n_clicks"),
        State(ids.ADMIN_SITE, "value"),
        State(ids.ADMIN_SITE_ORG, "value"),
        State(ids.ADMIN_SITE_CONFIRM, "value"),
        prevent_initial_call=True,
    )(update_site_move)
