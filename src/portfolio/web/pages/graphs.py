"""Graphs: consumption of a site or a whole portfolio group over any range, resolution following the zoom.

The group, range and fuel are the portfolio pages' shared selection (URL + the shell's store); the
callbacks in ``web/views/graphs.py`` re-check access on every request.
"""

from __future__ import annotations

import dash
from dash import html

from portfolio.services.groups import group_options
from portfolio.timekeeping import local_today
from portfolio.web.context import current_viewer, request_session, signed_in_user
from portfolio.web.url_state import default_state
from portfolio.web.views.graphs_layout import initial_state, make_graph_layout

dash.register_page(__name__, path="/graphs", name="Graphs", title="Graphs · Portfolio", order=3)


def layout(**query: str) -> html.Section:
    """Controls start from the URL; without one, the first callback restores the shared selection."""
    today = local_today()
    if signed_in_user() is None:
        return make_graph_layout([], default_state(today), {"given": False, "error": None, "initial": {}}, today)
    state, url_check = initial_state(query, today)
    options = group_options(request_session(), current_viewer())
    return make_graph_layout(options, state or default_state(today), url_check, today)
