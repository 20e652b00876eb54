"""Groups: name sets of the sites you may see, to view them together on the portfolio page."""

from __future__ import annotations

import dash
from dash import html

from portfolio.services.groups import group_options
from portfolio.web.context import current_viewer, request_session, signed_in_user
from portfolio.web.views.groups import load_picker, make_groups_layout

dash.register_page(__name__, path="/groups", name="Groups", title="Groups · Portfolio", order=2)


def layout(**_query: str) -> html.Section:
    """Built per request for whoever asks; anonymous calls (Dash validating layouts) get the empty frame."""
    if signed_in_user() is None:
        return make_groups_layout([], [], read_only=True, selected=None)
    session, viewer = request_session(), current_viewer()
    options = group_options(session, viewer)
    first = next((value for value, _label, _editable in options[1:]), None)
    return make_groups_layout(options, load_picker(session, viewer), read_only=viewer.read_only, selected=first)
