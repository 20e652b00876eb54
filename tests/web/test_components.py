"""The one table builder: every table sorts, filters, resizes and offers a CSV of its visible rows."""

from __future__ import annotations

import dash_ag_grid as dag
from dash import html

from portfolio.web.components import aria, make_data_table


def _grid(table: html.Div) -> dag.AgGrid:
    grids = [child for child in table.children if isinstance(child, dag.AgGrid)]
    assert len(grids) == 1
    return grids[0]


def test_columns_become_sortable_filterable_resizable_grid_columns() -> None:
    columns = [
        {"id": "name", "name": "Site", "wrap": True, "min_width": 280},
        {"id": "share", "name": "Share", "type": "numeric", "format": ".1%", "missing": "—"},
        {"id": "last", "name": "Last reading", "classes": {"cell-muted": "params.value === 'never'"}},
    ]
    grid = _grid(make_data_table("t", columns, data=[{"name": "A", "share": 0.5, "last": "never"}], page_size=10))
    assert grid.id == "t"
    assert grid.rowData == [{"name": "A", "share": 0.5, "last": "never"}]
    assert {"sortable", "resizable", "filter", "floatingFilter"} <= {k for k, v in grid.defaultColDef.items() if v}
    name, share, last = grid.columnDefs
    assert (name["field"], name["headerName"], name["filter"]) == ("name", "Site", "agTextColumnFilter")
    assert name["wrapText"] and name["minWidth"] == 280
    assert share["filter"] == "agNumberColumnFilter" and share["type"] == "rightAligned"
    assert share["valueFormatter"]["function"] == 'params.value == null ? "—" : d3.format(".1%")(params.value)'
    assert last["cellClassRules"] == {"cell-muted": "params.value === 'never'"}
    # never inferred: a column of ISO dates would be read as dates and its "never" drawn blank
    assert (name["cellDataType"], share["cellDataType"], last["cellDataType"]) == ("text", "number", "text")
    assert grid.dashGridOptions["pagination"] and grid.dashGridOptions["paginationPageSize"] == 10
    assert grid.dashGridOptions["suppressRowVirtualisation"]  # a page's rows are all in the DOM, none windowed out
    assert "rowSelection" not in grid.dashGridOptions


def test_selectable_tables_select_by_row_id_and_start_empty() -> None:
    grid = _grid(make_data_table("picker", [{"id": "name", "name": "Site"}], selectable=True))
    assert grid.dashGridOptions["rowSelection"] == {"mode": "multiRow", "selectAll": "filtered"}
    assert grid.getRowId == "params.data.id"
    assert grid.selectedRows == []


def test_every_table_offers_a_csv_of_its_rows_unless_its_page_exports_more() -> None:
    table = make_data_table("sites", [{"id": "name", "name": "Site"}])
    buttons = [child for child in table.children if isinstance(child, html.Div)]
    button = buttons[0].children
    assert isinstance(button, html.Button) and button.children == "Download CSV"
    assert button.to_plotly_json()["props"]["data-grid-csv"] == "sites"
    bare = make_data_table("audit", [{"id": "at", "name": "At"}], csv=False)
    assert "data-grid-csv" not in str(bare.to_plotly_json())


def test_aria_spells_hyphenated_attributes() -> None:
    assert aria(label="Main", haspopup="true") == {"aria-label": "Main", "aria-haspopup": "true"}
