"""A view shared with the signed-in user, opened read-only: its per-site totals over the shared range.

Opening goes through :func:`portfolio.services.shared_views.open_shared_view`, which checks the viewer's active
grants, records the opening for the sharer and audits the look; anything else is refused like a missing view.
"""

from __future__ import annotations

import pandas as pd
from dash import html
from sqlalchemy.orm import Session

from portfolio.access import AccessDenied, Viewer
from portfolio.services import audit, shared_views
from portfolio.services.portfolio import load_site_list

from .. import ids
from ..components import make_data_table, uk_time_text

REFUSED_VIEW = "This shared view does not exist or is no longer shared with you."
SHARED_COLUMNS = [
    {"name": "Site", "id": "name"},
    {"name": "Fuel", "id": "fuel"},
    {"name": "Consumption [kWh]", "id": "energy_kwh", "type": "numeric"},
    {"name": "Coverage", "id": "coverage"},
]


def make_shared_view_layout(session: Session, viewer: Viewer, view_id: object) -> html.Section:
    """Open a view shared with the viewer (recorded, read-only), or refuse it like a missing one."""
    try:
        opened = shared_views.open_shared_view(session, viewer, view_id)
    except AccessDenied:
        audit.record_refusal(session, viewer, "shared view", view_id)
        return html.Section(
            [html.H1("Shared view"), html.P(REFUSED_VIEW, className="alert", role="alert", id=ids.SHARED_VIEW_REFUSED)],
            className="page shared-view-page",
        )
    sites = load_site_list(session, list(opened.site_ids), opened.date_from, opened.date_to)
    if opened.fuel != "both":
        sites = sites[sites["fuel"] == opened.fuel]
    rows = [
        {
            "name": row["name"],
            "fuel": row["fuel"],
            "energy_kwh": None if pd.isna(row["energy_kwh"]) else round(float(row["energy_kwh"]), 1),
            "coverage": "no data" if pd.isna(row["coverage"]) else f"{float(row['coverage']):.0%}",
        }
        for row in sites.to_dict("records")
    ]
    until = f" · until {uk_time_text(opened.valid_until)}" if opened.valid_until else ""
    return html.Section(
        [
            html.H1(opened.name, id=ids.SHARED_VIEW_TITLE),
            html.P(
                f"Shared by {opened.shared_by} · read-only · {opened.date_from:%d %b %Y} to {opened.date_to:%d %b %Y}"
                f" · {opened.fuel} · {opened.granularity}{until}",
                className="lead",
                id=ids.SHARED_VIEW_META,
            ),
            make_data_table(ids.SHARED_VIEW_TABLE, SHARED_COLUMNS, data=rows),
        ],
        className="page shared-view-page",
    )
