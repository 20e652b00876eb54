"""One look for every data table: an AG Grid that sorts, filters, resizes columns and downloads the visible rows.

Columns are given in one small house format, so views never spell AG Grid options themselves::

    {"id": "coverage", "name": "Data coverage", "type": "numeric", "format": ".1%", "missing": "—",
     "wrap": True, "classes": {"cell-warn": "params.value < 0.9"}}

``format`` is a d3-format string for numbers; ``missing`` is shown for empty cells; ``classes`` maps a CSS class
(views.css) to a JavaScript condition on ``params.value``. Filter inputs carry AG Grid's labels
("Site Filter Input"), which screen readers announce. The "Download CSV" button beside each table exports
the rows as shown, after filtering and sorting (assets/grid-csv.js).

Beside the table, the small pieces every page shares: ARIA attributes, a native date input, a labelled form
field and a stored time in UK local time.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, cast
from zoneinfo import ZoneInfo

import dash_ag_grid as dag
from dash import dcc, html

from portfolio.timekeeping import UK_TIME_ZONE


def aria(**attributes: str) -> dict[str, Any]:
    """ARIA attributes as Dash keyword arguments: ``aria(label="Main")`` gives ``{"aria-label": "Main"}``.

    Dash accepts hyphenated props only through ``**``; this keeps them typed and spelled once.
    """
    return {f"aria-{name.replace('_', '-')}": value for name, value in attributes.items()}


def date_input(component_id: str, value: str | None = None) -> dcc.Input:
    """A native ``<input type="date">`` (ISO ``YYYY-MM-DD`` value; the browser draws its own picker).

    ``dcc.Input`` passes ``type`` through to the element; its type stubs list only the text-like types.
    """
    return dcc.Input(id=component_id, type=cast(Any, "date"), value=value)


def date_range(component_id: str, start: str | None, end: str | None, latest: str | None = None) -> dcc.DatePickerRange:
    """The house pick of local days [start, end] (ISO dates; weeks start on Monday; one day allowed)."""
    return dcc.DatePickerRange(
        id=component_id,
        start_date=start,
        end_date=end,
        max_date_allowed=latest,
        display_format="D MMM YYYY",
        first_day_of_week=1,
        minimum_nights=0,
        clearable=False,
    )


def make_field(label: str, component: Any, for_id: str) -> html.Div:
    """A form control with its visible ``<label for>`` (``for_id`` is the control's id)."""
    return html.Div([html.Label(label, htmlFor=for_id, className="control-label"), component], className="control")


def uk_time_text(value: dt.datetime | None, pattern: str = "%Y-%m-%d %H:%M", missing: str = "—") -> str:
    """A stored UTC time (naive on SQLite) as UK local time in ``pattern``, or ``missing``."""
    if value is None:
        return missing
    aware = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    return aware.astimezone(ZoneInfo(UK_TIME_ZONE)).strftime(pattern)


def _column_def(column: dict[str, Any]) -> dict[str, Any]:
    numeric = column.get("type") == "numeric"
    definition: dict[str, Any] = {
        "field": column["id"],
        "headerName": column["name"],
        "filter": "agNumberColumnFilter" if numeric else "agTextColumnFilter",
        # Never inferred: AG Grid would read a column of ISO dates as dates and blank its "never"/"no data" cells.
        "cellDataType": "number" if numeric else "text",
    }
    missing = json.dumps(column.get("missing", ""), ensure_ascii=False)
    if "format" in column:
        number_format = json.dumps(column["format"])
        definition["valueFormatter"] = {
            "function": f"params.value == null ? {missing} : d3.format({number_format})(params.value)"
        }
    elif "missing" in column:
        definition["valueFormatter"] = {"function": f"params.value == null ? {missing} : params.value"}
    if numeric:
        definition["type"] = "rightAligned"
    if column.get("wrap"):
        definition.update(wrapText=True, autoHeight=True, minWidth=column.get("min_width", 200))
    if "classes" in column:
        definition["cellClassRules"] = dict(column["classes"])
    return definition


def make_data_table(
    table_id: str,
    columns: list[dict[str, Any]],
    *,
    data: list[dict[str, Any]] | None = None,
    page_size: int = 25,
    selectable: bool = False,
    csv: bool = True,
) -> html.Div:
    """The house table: ``table_id`` is the grid's id (callbacks use its ``rowData`` and ``selectedRows``).

    ``selectable`` adds a checkbox per row (the header box selects the filtered rows); rows then need an ``id``.
    ``csv`` False drops the "Download CSV" of the rows shown, for a page whose own export covers more.
    """
    options: dict[str, Any] = {
        "pagination": True,
        "paginationPageSize": page_size,
        "paginationPageSizeSelector": False,
        "domLayout": "autoHeight",
        # Every row of the page in the page (at most 25): wrapped rows grow after they are measured, and the grid's
        # row window could then leave the last one out; the browser's find and screen readers need them all too.
        "suppressRowVirtualisation": True,
        "suppressColumnVirtualisation": True,
        "enableCellTextSelection": True,
    }
    grid_arguments: dict[str, Any] = {}
    if selectable:
        options["rowSelection"] = {"mode": "multiRow", "selectAll": "filtered"}
        grid_arguments["getRowId"] = "params.data.id"
        grid_arguments["selectedRows"] = []
    grid = dag.AgGrid(
        id=table_id,
        rowData=data or [],
        columnDefs=[_column_def(column) for column in columns],
        # flex widths (not a one-off size-to-fit) so a table first drawn in a hidden panel lays out when shown
        defaultColDef={
            "sortable": True,
            "resizable": True,
            "filter": True,
            "floatingFilter": True,
            "flex": 1,
            "minWidth": 110,
        },
        dashGridOptions=options,
        className="data-grid",
        **grid_arguments,
    )
    csv_target: dict[str, Any] = {"data-grid-csv": table_id}
    download = html.Button(
        "Download CSV",
        className="link-button grid-csv",
        title="Download the rows as shown (filtered and sorted) as CSV",
        **csv_target,
    )
    toolbar = [html.Div(download, className="grid-toolbar")] if csv else []
    return html.Div([*toolbar, grid], className="data-table")
