"""Export: download a group's or a site's readings as CSV, Excel or Green Button XML (helpers in ``web/views/exports.py``)."""

from __future__ import annotations

import dash
from dash import html

from portfolio.services.groups import group_options
from portfolio.timekeeping import local_today
from portfolio.web.context import current_viewer, request_session, signed_in_user
from portfolio.web.views.exports import initial_choices, make_export_layout, site_choices

dash.register_page(__name__, path="/export", name="Export", title="Export · Portfolio", order=5)


def layout(**query: str) -> html.Section:
    """Pickers list only what the signed-in user may see; the callback re-checks everything on each change."""
    today = local_today()
    if signed_in_user() is None:
        return make_export_layout([], [], initial_choices({}, today), today)
    session, viewer = request_session(), current_viewer()
    return make_export_layout(
        group_options(session, viewer), site_choices(session, viewer), initial_choices(query, today), today
    )
