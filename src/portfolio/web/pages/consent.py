"""Data sharing: who can see the organisation's data (grants, shared views, history, one-click revoke), sharing a
view, "Shared with me", and the audit of who has seen the data.

Helpers and callbacks live in ``web/views/consent.py``; every callback re-checks access.
"""

from __future__ import annotations

import dash
from dash import html

from portfolio.timekeeping import local_today
from portfolio.web.context import current_viewer, request_session, signed_in_user
from portfolio.web.views.consent import make_consent_layout, make_signed_out_layout

dash.register_page(__name__, path="/consent", name="Data sharing", title="Data sharing · Portfolio", order=8)


def layout(**_query: str) -> html.Section:
    if signed_in_user() is None:
        return make_signed_out_layout()
    return make_consent_layout(request_session(), current_viewer(), local_today())
