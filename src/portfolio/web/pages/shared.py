"""A view shared with the signed-in user, opened read-only (each opening is recorded for the sharer).

A revoked, expired or someone else's view is refused exactly like a missing one.
"""

from __future__ import annotations

import dash
from dash import html

from portfolio.web.context import current_viewer, request_session, signed_in_user
from portfolio.web.views.shared_views import REFUSED_VIEW, make_shared_view_layout

dash.register_page(
    __name__, path_template="/shared/<view_id>", name="Shared view", title="Shared view · Portfolio", nav=False
)


def layout(view_id: str | None = None, **_query: str) -> html.Section:
    if signed_in_user() is None:
        return html.Section(html.P(REFUSED_VIEW), className="page")
    return make_shared_view_layout(request_session(), current_viewer(), view_id)
