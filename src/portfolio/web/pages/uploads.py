"""Upload (admins and brokers): drop a meter file, preview how it will be read, confirm (``web/views/uploads.py``).

The link shows only to admins and brokers; the layout refuses everyone else itself (a typed URL gets the refusal).
"""

from __future__ import annotations

import dash
from dash import html

from portfolio.services.uploads import may_upload
from portfolio.web.context import current_viewer, signed_in_user
from portfolio.web.views.uploads import make_refusal, make_upload_layout

dash.register_page(
    __name__, path="/upload", name="Upload", title="Upload · Portfolio", order=8, roles=("admin", "broker")
)


def layout(**_query: str) -> html.Section:
    """Dash builds its validation layout by calling this outside any request: give it the components then."""
    if signed_in_user() is not None and not may_upload(current_viewer()):
        return make_refusal()
    return make_upload_layout()
