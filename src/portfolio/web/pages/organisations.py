"""Organisations (admins): the customer list's upload and each account's enrolment (``web/views/organisations.py``)."""

from __future__ import annotations

import dash
from dash import html

from portfolio.web.context import current_viewer, request_session, signed_in_user
from portfolio.web.views.organisations import make_organisations_layout, make_refusal

dash.register_page(
    __name__, path="/organisations", name="Organisations", title="Organisations · Portfolio", order=9, roles=("admin",)
)


def layout(**_query: str) -> html.Section:
    """Dash builds its validation layout by calling this outside any request: give it the components then."""
    if signed_in_user() is None:
        return make_organisations_layout(None, None)
    viewer = current_viewer()
    if not viewer.is_admin:
        return make_refusal()
    return make_organisations_layout(request_session(), viewer)
