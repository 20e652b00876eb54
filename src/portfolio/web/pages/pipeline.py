"""Pipeline (admins only): the daily runs with their per-step counts, errors and durations, and stuck emails.

The link shows only to admins; the layout refuses everyone else itself (a typed URL gets the refusal).
"""

from __future__ import annotations

import dash
from dash import html

from portfolio.web.context import current_viewer, request_session, signed_in_user
from portfolio.web.views.pipeline import make_pipeline_layout, make_refusal

dash.register_page(__name__, path="/pipeline", name="Pipeline", title="Pipeline · Portfolio", order=9, roles=("admin",))


def layout(**_query: str) -> html.Section:
    if signed_in_user() is None or not current_viewer().is_admin:
        return make_refusal()
    return make_pipeline_layout(request_session())
