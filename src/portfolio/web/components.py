"""One look for every data table: sortable, filterable, paged, in the product's type and colours."""

from __future__ import annotations

from typing import Any

from dash import dash_table

FONT_STACK = 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif'
FILTER_OPTIONS = {"case": "insensitive", "placeholder_text": "Filter…"}


def aria(**attributes: str) -> dict[str, Any]:
    """ARIA attributes as Dash keyword arguments: ``aria(label="Main")`` gives ``{"aria-label": "Main"}``.

    Dash accepts hyphenated props only through ``**``; this keeps them typed and spelled once.
    """
    return {f"aria-{name.replace('_', '-')}": value for name, value in attributes.items()}


def make_data_table(
    table_id: str,
    columns: list[dict[str, Any]],
    *,
    data: list[dict[str, Any]] | None = None,
    page_size: int = 25,
    padding: str = "10px 12px",
    **options: Any,
) -> dash_table.DataTable:
    """A DataTable with the house style; ``options`` adds or overrides DataTable arguments."""
    arguments: dict[str, Any] = dict(
        id=table_id,
        columns=[{**column, "filter_options": FILTER_OPTIONS} for column in columns],
        data=data or [],
        sort_action="native",
        filter_action="native",
        filter_options=FILTER_OPTIONS,
        page_action="native",
        page_size=page_size,
        style_as_list_view=True,
        style_table={"overflowX": "auto"},
        style_header={"fontWeight": "600", "backgroundColor": "#f4f6f8", "color": "#1f2933"},
        style_cell={
            "fontFamily": FONT_STACK,
            "fontSize": "14px",
            "padding": padding,
            "textAlign": "left",
            "whiteSpace": "nowrap",
            "border": "none",
            "borderBottom": "1px solid #e4e7eb",
        },
    )
    arguments.update(options)
    return dash_table.DataTable(**arguments)
