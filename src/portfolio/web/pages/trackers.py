"""Trackers: consumption budgets per group or site, their progress, and notification settings.

Helpers and callbacks live in ``web/views/trackers.py``; every callback re-checks access.
"""

from __future__ import annotations

import dash
from dash import html

from portfolio.services import notifications
from portfolio.services.groups import group_options
from portfolio.web.context import current_viewer, request_session, signed_in_user
from portfolio.web.views.exports import site_choices
from portfolio.web.views.trackers_layout import make_tracker_layout

dash.register_page(__name__, path="/trackers", name="Trackers", title="Trackers · Portfolio", order=6)


def layout(**_query: str) -> html.Section:
    """The form lists only groups and sites the signed-in user may see; account managers get no form.

    Dash builds its validation layout by calling this outside any request: it gets every component then (the
    editable layout, empty), so every callback's ids are known; no data is read without a user.
    """
    if signed_in_user() is None:
        return make_tracker_layout([], [], False, notifications.Channels())
    session, viewer = request_session(), current_viewer()
    return make_tracker_layout(
        group_options(session, viewer),
        site_choices(session, viewer),
        viewer.read_only,
        notifications.channels_for(session, viewer.user_id),
    )
