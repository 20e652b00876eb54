"""Overview: the landing page after sign-in, one card per portfolio group (and per client for brokers)."""

from __future__ import annotations

import datetime as dt

import dash
from dash import html

from portfolio.services.overview import make_overview
from portfolio.timekeeping import local_today
from portfolio.web.context import current_viewer, request_session, signed_in_user
from portfolio.web.views.overview import make_overview_layout

dash.register_page(__name__, path="/", name="Overview", title="Overview · Portfolio", order=0)


def layout(**_query: str) -> html.Section:
    """Read the cards at request time for whoever is asking; anonymous callers get nothing."""
    if signed_in_user() is None:
        return html.Section()
    today = local_today()
    cards = make_overview(request_session(), current_viewer(), today)
    return make_overview_layout(cards, f"{today - dt.timedelta(days=1):%a %-d %b}")
