"""Portfolio: one row per site of a group over a range of local days, with coverage and missing sites.

The group, range and fuel come from the URL (``?group=12&from=2026-10-25&to=2026-11-24&fuel=power``),
so a view can be bookmarked and shared; the callbacks in ``web/views/portfolio.py`` re-check access.
"""

from __future__ import annotations

import dash
from dash import html

from portfolio.services.groups import group_options
from portfolio.timekeeping import local_today
from portfolio.web.context import current_viewer, request_session, signed_in_user
from portfolio.web.url_state import default_state
from portfolio.web.views.portfolio_layout import initial_state, make_portfolio_layout

dash.register_page(__name__, path="/portfolio", name="Portfolio", title="Totals · Portfolio", order=2)


def layout(**query: str) -> html.Section:
    """Controls start from the URL; a bad URL keeps the defaults and the first callback shows the problem."""
    today = local_today()
    if signed_in_user() is None:
        return make_portfolio_layout([], default_state(today), {"given": False, "error": None, "initial": {}}, today)
    state, url_check = initial_state(query, today)
    options = group_options(request_session(), current_viewer())
    return make_portfolio_layout(options, state or default_state(today), url_check, today)
