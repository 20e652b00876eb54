"""Sites (admins only): every site with its organisation, moves between organisations, the unknown-meter queue.

The link shows only to admins; the layout refuses everyone else itself (a typed URL gets the refusal).
"""

from __future__ import annotations

import dash
from dash import html

from portfolio.web.context import current_viewer, request_session, signed_in_user
from portfolio.web.views.admin_sites import make_admin_sites_layout, make_refusal

dash.register_page(
    __name__, path="/admin/sites", name="Site admin", title="Site admin · Portfolio", order=10, roles=("admin",)
)


def layout(**_query: str) -> html.Section:
    """Dash builds its validation layout by calling this outside any request: give it the components then."""
    if signed_in_user() is None:
        return make_admin_sites_layout(None, None)
    viewer = current_viewer()
    if not viewer.is_admin:
        return make_refusal()
    return make_admin_sites_layout(request_session(), viewer)
