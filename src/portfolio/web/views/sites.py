"""The sites table: site summaries turned into readable rows, in the house table (sortable, filterable).

Kept out of ``pages/`` because Dash refuses to import a page module before an app exists.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from dash import dcc, html

from .. import ids
from ..components import make_data_table

NO_DATA = "no data yet"
FUEL_LABELS = {"power": "Power", "gas": "Gas"}
METER_TYPE_LABELS = {"hh": "Half-hourly", "amr": "AMR", "smart": "Smart"}
COLUMNS = [
    ("name", "Site"),
    ("organisation", "Organisation"),
    ("postcode", "Postcode"),
    ("fuel", "Fuel"),
    ("meter_type", "Meter type"),
    ("meter_identifier", "Meter"),
    ("first_reading", "First reading"),
    ("last_reading", "Last reading"),
]


def _text(value: Any) -> str:
    """Missing text arrives as None or NaN depending on the column's dtype; show it as blank.

    ``value`` is a DataFrame cell, so of any type."""
    return "" if value is None or pd.isna(value) else str(value)


def _local_date(moment: object, time_zone: object) -> str | None:
    """The calendar date at the site, where a day starts at local midnight, not UTC midnight.

    ``moment`` is a DataFrame cell: a UTC ``Timestamp``, or ``NaT``/``None`` when the site has no reading."""
    if not isinstance(moment, pd.Timestamp):
        return None
    return moment.tz_convert(str(time_zone)).date().isoformat()


def site_rows(frame: pd.DataFrame) -> list[dict[str, str]]:
    """Turn site summaries into table rows: labels for codes, ISO local dates (they sort as text)."""
    rows = []
    for site in frame.itertuples(index=False):
        first = _local_date(site.first_reading, site.time_zone)
        rows.append(
            {
                "name": _text(site.name),
                "organisation": _text(site.organisation),
                "postcode": _text(site.postcode),
                "fuel": FUEL_LABELS.get(_text(site.fuel), _text(site.fuel)),
                "meter_type": METER_TYPE_LABELS.get(_text(site.meter_type), _text(site.meter_type)),
                "meter_identifier": _text(site.meter_identifier),
                "first_reading": first or NO_DATA,
                "last_reading": _local_date(site.last_reading, site.time_zone) or "",
            }
        )
    return rows


def make_sites_table(rows: list[dict[str, str]]) -> html.Div:
    columns: list[dict[str, Any]] = [{"id": key, "name": name} for key, name in COLUMNS]
    for column in columns:
        if column["id"] in ("name", "organisation"):  # long names wrap so every column fits without scrolling
            column.update(wrap=True, min_width=160)
        if column["id"] == "first_reading":
            column["classes"] = {"cell-muted": f"params.value === '{NO_DATA}'"}
    return make_data_table(ids.SITES_TABLE, columns, data=rows)


def make_client_switcher(organisations: list[tuple[int, str]]) -> html.Details:
    """All clients or one, for people who see several organisations (brokers); hidden for everyone else.

    Plain links to the sites list with ``?client=<organisation id>``: the page filters server-side, from what
    the access policy lets the viewer see, so an id outside their clients simply matches nothing.
    """
    links = [dcc.Link("All clients", href="/sites", className="client-link")] + [
        dcc.Link(name, href=f"/sites?client={org_id}", className="client-link") for org_id, name in organisations
    ]
    return html.Details(
        [html.Summary("Clients", id=ids.SHELL_CLIENT), html.Div(links, className="client-menu shell-menu-panel")],
        className="shell-menu client-switcher" if len(organisations) > 1 else "shell-menu client-switcher hidden",
    )


def filter_client(
    rows: list[dict[str, str]], organisations: list[tuple[int, str]], client: str | None
) -> list[dict[str, str]]:
    """The rows of one client (an organisation the viewer reaches), or all rows when none is chosen."""
    if not client:
        return rows
    names = {name for org_id, name in organisations if str(org_id) == client}
    return [row for row in rows if row["organisation"] in names]
