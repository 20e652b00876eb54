"""Aggregates (admins only): consumption across customers under the 15/15 rule (``web/views/aggregates.py``)."""

from __future__ import annotations

import dash
from dash import html

from portfolio.timekeeping import local_today
from portfolio.web.context import current_viewer, signed_in_user
from portfolio.web.views.aggregates import make_aggregates_layout, make_refusal

dash.register_page(
    __name__, path="/admin/aggregates", name="Aggregates", title="Aggregates · Portfolio", order=11, roles=("admin",)
)


def layout(**_query: str) -> html.Section:
    if signed_in_user() is not None and not current_viewer().is_admin:
        return make_refusal()
    return make_aggregates_layout(local_today())
