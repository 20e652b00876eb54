"""The portfolio list: one row per site of a group over a date range, with coverage and missing sites.

Kept out of ``pages/`` so tests can import it; ``pages/portfolio.py`` only registers the page and
builds its layout from ``web/views/portfolio_layout.py``. The rows, totals and callbacks live here; the
callbacks are bound per app by :func:`register_callbacks` (called from the shell), because Dash re-imports
page modules for every app it builds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import dash
import pandas as pd
from dash import ClientsideFunction, Dash, Input, Output, State, html

from portfolio.access import AccessDenied
from portfolio.analytics.coverage import (
    compute_client_totals,
    compute_fuel_totals,
    compute_missing_sites,
)
from portfolio.services.portfolio import load_group_site_list
from portfolio.timekeeping import local_today

from .. import ids
from ..context import current_viewer, request_session
from ..inputs import as_mapping
from ..url_state import (
    PortfolioState,
    UrlStateError,
    from_store,
    parse_state,
    to_params,
    to_query,
    to_store,
)
from .portfolio_layout import HIDDEN, NEVER, is_first_call
from .sites import FUEL_LABELS, METER_TYPE_LABELS

NOT_AVAILABLE = (
    "This group is not available to you: it does not exist, was deleted, or belongs to someone else. "
    "Choose one of your groups above."
)
INTERVAL_LABELS = {1800: "HH", 3600: "Hourly"}


# Loading and shaping ------------------------------------------------------------------------------


def fuels_present(site_list: pd.DataFrame) -> tuple[str, ...]:
    return tuple(sorted(set(site_list["fuel"]))) if len(site_list) else ()


def effective_fuel(fuels: Sequence[str], wanted: str) -> str:
    """A single-fuel group has no toggle, so it always shows its one fuel (whatever the URL said)."""
    return wanted if len(fuels) > 1 else "both"


def select_fuel(site_list: pd.DataFrame, fuel: str) -> pd.DataFrame:
    if fuel == "both":
        return site_list
    return site_list.loc[site_list["fuel"] == fuel].reset_index(drop=True)


def _local_date(moment: object, time_zone: object) -> str:
    """``moment`` is a DataFrame cell: a UTC ``Timestamp``, or ``NaT``/``None`` for a site never read."""
    if not isinstance(moment, pd.Timestamp):
        return NEVER
    return moment.tz_convert(str(time_zone)).date().isoformat()


def _number(value: Any) -> float | None:
    """A numeric DataFrame cell as a float, ``None`` when missing (None or NaN)."""
    return None if value is None or pd.isna(value) else float(value)


def list_rows(site_list: pd.DataFrame) -> list[dict[str, Any]]:
    """Table rows: labels for codes, numbers left numeric (so they sort), dates in the site's local time."""
    rows = []
    for site in site_list.to_dict("records"):
        seconds = _number(site["interval_seconds"])
        rows.append(
            {
                "id": int(site["site_id"]),
                "name": site["name"],
                "organisation": site.get("organisation") or "",
                "fuel": FUEL_LABELS.get(site["fuel"], site["fuel"]),
                "meter_type": METER_TYPE_LABELS.get(site["meter_type"], site["meter_type"]),
                "interval": INTERVAL_LABELS.get(int(seconds), f"{int(seconds) // 60} min") if seconds else "unknown",
                "energy_kwh": _number(site["energy_kwh"]),
                "share": _number(site["share"]),
                "coverage": _number(site["coverage"]) or 0.0,
                "last_reading": _local_date(site["last_reading"], site["time_zone"]),
            }
        )
    return rows


def missing_rows(site_list: pd.DataFrame) -> list[dict[str, Any]]:
    """Sites with no reading at all in the range, with their last reading ever ("never" if none)."""
    missing = compute_missing_sites(site_list)
    return [
        {
            "id": int(site["site_id"]),
            "name": site["name"],
            "fuel": FUEL_LABELS.get(site["fuel"], site["fuel"]),
            "meter_type": METER_TYPE_LABELS.get(site["meter_type"], site["meter_type"]),
            "last_reading": _local_date(site["last_reading"], site["time_zone"]),
        }
        for site in missing.to_dict("records")
    ]


def missing_summary(missing: int, total: int) -> str:
    if total == 0:
        return "This group has no sites yet."
    if missing == 0:
        return f"All {total} sites have data in this range." if total > 1 else "The site has data in this range."
    verb = "has" if missing == 1 else "have"
    return f"{missing} of {total} site{'' if total == 1 else 's'} {verb} no data in this range"


def _kwh(value: float | None) -> str:
    return "no data" if value is None or pd.isna(value) else f"{value:,.0f} kWh"


def make_client_totals(site_list: pd.DataFrame) -> html.Div | None:
    """Per-client totals of the shown fuel, for viewers whose list spans several organisations (brokers)."""
    if "organisation" not in site_list or site_list["organisation"].nunique() < 2:
        return None
    totals = compute_client_totals(site_list)
    fuels = [f for f in ("power", "gas") if f in set(totals["fuel"])]
    cells: dict[str, dict[str, dict[Any, Any]]] = {}
    for row in totals.to_dict("records"):
        cells.setdefault(row["organisation"], {})[row["fuel"]] = row
    rows = []
    for organisation, by_fuel in cells.items():
        row_cells: list[Any] = [html.Th(organisation, scope="row")]
        for fuel in fuels:
            found = by_fuel.get(fuel)
            row_cells.append(
                html.Td(
                    [
                        html.Div(_kwh(found["energy_kwh"])),
                        html.Div(f"{found['sites_reporting']} of {found['sites']} sites", className="muted small"),
                    ]
                    if found
                    else "—",
                    className="number",
                )
            )
        rows.append(html.Tr(row_cells))
    return html.Div(
        [
            html.Div("By client", className="total-label"),
            html.Table(
                [
                    html.Thead(
                        html.Tr(
                            [
                                html.Th("Client", scope="col"),
                                *(
                                    html.Th(f"{FUEL_LABELS.get(f, f)} metered", scope="col", className="number")
                                    for f in fuels
                                ),
                            ]
                        )
                    ),
                    html.Tbody(rows),
                ],
                className="plain-table",
            ),
        ],
        id=ids.PORTFOLIO_CLIENT_TOTALS,
        className="total-card client-totals",
    )


def make_totals(site_list: pd.DataFrame) -> list[html.Div]:
    """One card per fuel, side by side (gas and power kWh are never added), then per client for brokers."""
    if site_list.empty:
        return []
    totals = compute_fuel_totals(site_list)
    clients = make_client_totals(site_list)
    return [
        html.Div(
            [
                html.Div(f"{FUEL_LABELS.get(row['fuel'], row['fuel'])} total", className="total-label"),
                html.Div(_kwh(row["energy_kwh"]), className="total-value"),
                html.Div(f"{row['sites_reporting']} of {row['sites']} sites reporting", className="total-note"),
            ],
            className=f"total-card total-{row['fuel']}",
            id={"type": ids.PORTFOLIO_TOTAL, "fuel": row["fuel"]},
        )
        for row in totals.to_dict("records")
    ] + ([clients] if clients is not None else [])


# Rendering ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PortfolioOutputs:
    """Everything the list callback writes, in the order of :data:`OUTPUTS`."""

    message: Any
    body_class: str
    toggle_class: str
    totals: Any
    summary: str
    missing_button_class: str
    rows: list[dict[str, Any]]
    missing: list[dict[str, Any]]
    store: Any
    query: Any
    range_note: str

    def as_tuple(self) -> tuple[Any, ...]:
        return (
            self.message,
            self.body_class,
            self.toggle_class,
            self.totals,
            self.summary,
            self.missing_button_class,
            self.rows,
            self.missing,
            self.store,
            self.query,
            self.range_note,
        )


def error_outputs(message: str) -> PortfolioOutputs:
    """A refusal shows the message and nothing else: no rows, no totals, no names."""
    return PortfolioOutputs(
        message=html.Div(message, className="alert", role="alert"),
        body_class=f"portfolio-body {HIDDEN}",
        toggle_class=f"control fuel-toggle {HIDDEN}",
        totals=[],
        summary="",
        missing_button_class=HIDDEN,
        rows=[],
        missing=[],
        store=dash.no_update,
        query=dash.no_update,
        range_note="",
    )


def render_portfolio(site_list: pd.DataFrame, state: PortfolioState) -> PortfolioOutputs:
    """Split by the effective fuel, then count, total and list what is left."""
    fuels = fuels_present(site_list)
    fuel = effective_fuel(fuels, state.fuel)
    shown = select_fuel(site_list, fuel)
    missing = missing_rows(shown)
    effective = PortfolioState(state.group, state.start, state.end, fuel)
    return PortfolioOutputs(
        message=None,
        body_class="portfolio-body",
        toggle_class="control fuel-toggle" if len(fuels) > 1 else f"control fuel-toggle {HIDDEN}",
        totals=make_totals(shown),
        summary=missing_summary(len(missing), len(shown)),
        missing_button_class="button button-secondary" if missing else HIDDEN,
        rows=list_rows(shown),
        missing=missing,
        store=to_store(effective),
        query=to_query(effective),
        range_note=f"{state.start:%-d %b %Y} to {state.end:%-d %b %Y} ({state.days} local days)",
    )


# Callbacks ----------------------------------------------------------------------------------------

OUTPUTS = [
    Output(ids.PORTFOLIO_MESSAGE, "children"),
    Output(ids.PORTFOLIO_BODY, "className"),
    Output(ids.PORTFOLIO_FUEL_TOGGLE, "className"),
    Output(ids.PORTFOLIO_TOTALS, "children"),
    Output(ids.PORTFOLIO_MISSING_SUMMARY, "children"),
    Output(ids.PORTFOLIO_MISSING_BUTTON, "className"),
    Output(ids.PORTFOLIO_TABLE, "rowData"),
    Output(ids.PORTFOLIO_MISSING_TABLE, "rowData"),
    Output(ids.PORTFOLIO_STATE, "data"),
    Output(ids.PORTFOLIO_QUERY, "data"),
    Output(ids.PORTFOLIO_RANGE_NOTE, "children"),
    Output(ids.PORTFOLIO_GROUP, "value"),
    Output(ids.PORTFOLIO_DATES, "start_date"),
    Output(ids.PORTFOLIO_DATES, "end_date"),
    Output(ids.PORTFOLIO_FUEL, "value"),
]


def update_portfolio(
    group: object,
    start_date: object,
    end_date: object,
    fuel: object,
    url_check: Mapping[str, Any] | None,
    stored: object,
) -> tuple[Any, ...]:
    """Parse, check access, load, compute, render; a bad URL or a foreign group shows only a message.

    Opened without URL parameters, the first call restores the tab's last state from the shell's store
    and moves the controls to it (a callback may write its own inputs; Dash does not loop on that).
    """
    check, today = as_mapping(url_check, "the URL check"), local_today()
    controls: tuple[object, ...] = (dash.no_update,) * 4
    inputs: Mapping[str, object] = {"group": group, "from": start_date, "to": end_date, "fuel": fuel}
    if is_first_call(inputs, check) and check.get("error"):
        return error_outputs(f"This link cannot be shown: {check['error']}.").as_tuple() + controls
    restored = from_store(stored, today) if is_first_call(inputs, check) and not check.get("given") else None
    if restored is not None:
        inputs = to_params(restored)
        controls = (inputs["group"], inputs["from"], inputs["to"], inputs["fuel"])
    try:
        state = parse_state(inputs, today)
        site_list = load_group_site_list(request_session(), current_viewer(), state.group, state.start, state.end)
    except UrlStateError as error:
        return error_outputs(f"This view cannot be shown: {error}.").as_tuple() + controls
    except AccessDenied:
        return error_outputs(NOT_AVAILABLE).as_tuple() + controls
    return render_portfolio(site_list, state).as_tuple() + controls


def toggle_missing(n_clicks: int | None) -> tuple[str, str, str]:
    """Open or close the missing-locations panel; the button says what the next click does."""
    is_open = bool(n_clicks) and n_clicks % 2 == 1  # type: ignore[operator]
    label = "Hide missing locations" if is_open else "View missing locations"
    return ("missing-panel" if is_open else f"missing-panel {HIDDEN}"), label, "true" if is_open else "false"


def update_page_links(query: object) -> tuple[str, str]:
    """Carry the validated selection (group, range, fuel) to the graph and export pages; they re-check it."""
    suffix = query if isinstance(query, str) and query.startswith("?") else ""
    return f"/graphs{suffix}", f"/export{suffix}"


def register_callbacks(app: Dash) -> None:
    """Bind the portfolio page's callbacks to ``app`` (see the module docstring for why not ``dash.callback``)."""
    app.callback(
        *OUTPUTS,
        Input(ids.PORTFOLIO_GROUP, "value"),
        Input(ids.PORTFOLIO_DATES, "start_date"),
        Input(ids.PORTFOLIO_DATES, "end_date"),
        Input(ids.PORTFOLIO_FUEL, "value"),
        State(ids.PORTFOLIO_URL_CHECK, "data"),
        State(ids.PORTFOLIO_STATE, "data"),
    )(update_portfolio)
    app.callback(
        Output(ids.PORTFOLIO_MISSING_PANEL, "className"),
        Output(ids.PORTFOLIO_MISSING_BUTTON, "children"),
        Output(ids.PORTFOLIO_MISSING_BUTTON, "aria-expanded"),
        Input(ids.PORTFOLIO_MISSING_BUTTON, "n_clicks"),
    )(toggle_missing)
    app.clientside_callback(
        ClientsideFunction(namespace="portfolio", function_name="replaceSearch"),
        Output(ids.PORTFOLIO_URL_SINK, "children"),
        Input(ids.PORTFOLIO_QUERY, "data"),
    )
    app.callback(
        Output(ids.PORTFOLIO_GRAPHS_LINK, "href"),
        Output(ids.PORTFOLIO_EXPORT_LINK, "href"),
        Input(ids.PORTFOLIO_QUERY, "data"),
    )(update_page_links)
