"""Sites: the sites the signed-in user may see, with their meters and the span of their data."""

from __future__ import annotations

import dash
from dash import html

from portfolio.queries.sites import load_reached_organisations, load_site_summaries
from portfolio.web import ids
from portfolio.web.context import current_viewer, request_session, signed_in_user
from portfolio.web.views.sites import filter_client, make_sites_table, site_rows

dash.register_page(__name__, path="/sites", name="Sites", title="Sites · Portfolio", order=1)


def _summary(rows: list[dict[str, str]]) -> str:
    organisations = len({row["organisation"] for row in rows})
    sites = "1 site" if len(rows) == 1 else f"{len(rows)} sites"
    return f"{sites} in {organisations} organisation{'' if organisations == 1 else 's'}."


def layout(client: str | None = None, **_query: str) -> html.Section:
    """Read the sites at request time for whoever is asking (one client of a broker's: ``?client=<id>``)."""
    if signed_in_user() is None:
        return html.Section()
    session, viewer = request_session(), current_viewer()
    rows = site_rows(load_site_summaries(session, viewer))
    rows = filter_client(rows, load_reached_organisations(session, viewer), client)
    return html.Section(
        [
            html.Div(
                [html.H1("Sites"), html.P(_summary(rows), id=ids.SITES_SUMMARY, className="muted")],
                className="page-header",
            ),
            html.Div(make_sites_table(rows), className="card"),
            html.P("Reading dates are in each site's local time.", className="muted small"),
        ],
        className="page",
    )
