"""The export page: pick a group or one site, local days, fuel, shape and format, and download the file.

The Download link points at ``/export/download`` with the chosen parameters (a plain ``<a href download>``: the
browser streams the file to disk). Before the user clicks, :func:`update_export` runs the very checks the route
runs (:func:`portfolio.services.exports.plan_export`, access included) and either shows what will be exported or the
problem, with the link hidden. Kept out of ``pages/`` so tests can import it; the callbacks are bound per app by
:func:`register_callbacks`, called from the shell.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from dash import Dash, Input, Output, dcc, html
from sqlalchemy.orm import Session

from portfolio.access import AccessDenied, Viewer
from portfolio.config import Settings
from portfolio.queries.sites import load_site_summaries
from portfolio.services.exports import ExportError, ExportPlan, parse_export_request, plan_export
from portfolio.services.groups import ALL_SITES

from .. import ids
from ..components import date_range
from ..context import app_state, current_viewer, request_session
from ..export_routes import DOWNLOAD_PATH
from ..url_state import default_range

HIDDEN = "hidden"
SHAPE_OPTIONS = [
    {
        "value": "interval",
        "label": "Interval data per site: one row per site and half hour (or hour), local and UTC time, kWh, actual/estimated, MPAN/MPRN",
    },
    {
        "value": "daily",
        "label": "Daily totals per site: one row per site and local day, with intervals present / expected",
    },
    {
        "value": "portfolio",
        "label": "Portfolio total: one row per interval with the sum over the sites and how many reported",
    },
]
FORMAT_LABELS = {"csv": "CSV", "xlsx": "Excel", "espi": "Green Button XML"}
FUEL_LABELS = {"power": "Power", "gas": "Gas", "both": "Both"}
NOT_AVAILABLE = "This selection is not available to you: it does not exist, was deleted, or belongs to someone else."


@dataclass(frozen=True)
class ExportCheck:
    """What the page shows for the current choices: a ready link and its summary, or the problem."""

    error: str | None = None
    href: str | None = None
    file_name: str | None = None
    summary: str = ""
    fuels: tuple[str, ...] = ()
    format_label: str = "CSV"


def site_choices(session: Session, viewer: Viewer) -> list[dict[str, Any]]:
    """Visible sites for the single-site picker, labelled by name, meter and fuel, searchable by any of them."""
    sites = load_site_summaries(session, viewer)
    return [
        {
            "value": str(row["id"]),
            "label": f"{row['name']} · {row['meter_identifier'] or 'no meter id'} ({row['fuel']})",
        }
        for row in sites.to_dict("records")
    ]


def _summary(plan: ExportPlan) -> str:
    sites = len(plan.site_ids)
    days = (plan.meta.end - plan.meta.start).days + 1
    rows = sum(plan.expected_rows.values())
    about = "up to" if plan.shape.value == "portfolio" else "about"
    return (
        f"{sites} site{'' if sites == 1 else 's'} · {plan.meta.start:%-d %b %Y} to {plan.meta.end:%-d %b %Y} "
        f"({days} local day{'' if days == 1 else 's'}) · {about} {rows:,} rows · {plan.file_name}"
    )


def check_export(session: Session, viewer: Viewer, params: Mapping[str, object], settings: Settings) -> ExportCheck:
    """Run the route's checks on the page's choices; a one-fuel selection ignores the fuel choice (no toggle)."""
    try:
        request = parse_export_request(params)
        both = plan_export(session, viewer, dataclasses.replace(request, fuel="both"), settings)
        fuels = tuple(both.meta.fuels)
        if len(fuels) < 2:
            request = dataclasses.replace(request, fuel="both")
        plan = both if request.fuel == "both" else plan_export(session, viewer, request, settings)
    except AccessDenied:
        return ExportCheck(error=NOT_AVAILABLE)
    except ExportError as error:
        return ExportCheck(error=f"{str(error)[0].upper()}{str(error)[1:]}.")
    href = f"{DOWNLOAD_PATH}?{urlencode(request.as_params())}"
    return ExportCheck(
        href=href,
        file_name=plan.file_name,
        summary=_summary(plan),
        fuels=fuels,
        format_label=FORMAT_LABELS[plan.format.value],
    )


def _control(label: str, component: Any, control_id: str | None = None, hint: str | None = None) -> html.Div:
    children = [html.Span(label, className="control-label"), component]
    if hint:
        children.append(html.P(hint, className="hint"))
    identity: dict[str, Any] = {"id": control_id} if control_id else {}
    return html.Div(children, className="control", **identity)


def make_export_layout(
    group_options: Sequence[tuple[str, str, bool]],
    sites: list[dict[str, Any]],
    initial: Mapping[str, str],
    today: dt.date,
) -> html.Section:
    """The page: what to export (group or site), when, which fuel, which shape and format, and the Download link."""
    scope = "site" if initial.get("site") else "group"
    return html.Section(
        [
            html.Div(
                [
                    html.H1("Export"),
                    html.P(
                        "Download readings as CSV, Excel or Green Button XML. Missing intervals stay missing: "
                        "no zero rows are added.",
                        className="muted",
                    ),
                ],
                className="page-header",
            ),
            html.Div(
                [
                    _control(
                        "Export",
                        dcc.RadioItems(
                            id=ids.EXPORT_SCOPE,
                            value=scope,
                            inline=True,
                            className="segmented",
                            options=[
                                {"label": "Portfolio group", "value": "group"},
                                {"label": "Single site", "value": "site"},
                            ],
                        ),
                    ),
                    _control(
                        "Group",
                        dcc.Dropdown(
                            id=ids.EXPORT_GROUP,
                            options=[{"label": label, "value": value} for value, label, _ in group_options],
                            value=initial.get("group") or ALL_SITES,
                            clearable=False,
                            className="group-dropdown",
                        ),
                        ids.EXPORT_GROUP_CONTROL,
                    ),
                    _control(
                        "Site",
                        dcc.Dropdown(
                            id=ids.EXPORT_SITE,
                            options=sites,
                            value=initial.get("site"),
                            clearable=False,
                            placeholder="Search by name or MPAN/MPRN",
                            className="site-dropdown",
                        ),
                        ids.EXPORT_SITE_CONTROL,
                    ),
                    _control(
                        "Local days",
                        date_range(ids.EXPORT_DATES, initial["from"], initial["to"]),
                        hint="Inclusive, in each site's local time",
                    ),
                    _control(
                        "Fuel",
                        dcc.RadioItems(
                            id=ids.EXPORT_FUEL,
                            value=initial.get("fuel") or "both",
                            inline=True,
                            className="segmented",
                            options=[{"label": label, "value": value} for value, label in FUEL_LABELS.items()],
                        ),
                        ids.EXPORT_FUEL_CONTROL,
                    ),
                ],
                className="controls card",
            ),
            html.Div(
                [
                    html.Div(
                        [
                            html.H2("Shape"),
                            dcc.RadioItems(
                                id=ids.EXPORT_SHAPE, options=SHAPE_OPTIONS, value="interval", className="choice-list"
                            ),
                        ],
                        className="export-choice",
                    ),
                    html.Div(
                        [
                            html.H2("Format"),
                            dcc.RadioItems(
                                id=ids.EXPORT_FORMAT,
                                value="csv",
                                className="choice-list",
                                options=_format_options("interval"),
                            ),
                            html.P(
                                "Excel has one sheet per fuel with the range and units in its header row. "
                                "Green Button XML is for interval data.",
                                className="hint",
                            ),
                        ],
                        className="export-choice",
                    ),
                ],
                className="export-choices card",
            ),
            html.Div(
                [
                    html.Div(id=ids.EXPORT_MESSAGE, role="status"),
                    html.P(id=ids.EXPORT_SUMMARY, className="export-summary"),
                    html.A(
                        "Download",
                        id=ids.EXPORT_DOWNLOAD,
                        href="#",
                        download="",
                        className=f"button button-primary {HIDDEN}",
                    ),
                ],
                className="export-actions",
            ),
        ],
        className="page export-page",
    )


def _format_options(shape: object) -> list[dict[str, Any]]:
    return [
        {"label": label, "value": value, "disabled": value == "espi" and shape != "interval"}
        for value, label in FORMAT_LABELS.items()
    ]


def initial_choices(query: Mapping[str, str], today: dt.date) -> dict[str, str]:
    """Start from the URL's group/site, range and fuel when given (e.g. linked from the portfolio page)."""
    start, end = default_range(today)
    choices = {"from": start.isoformat(), "to": end.isoformat(), "group": ALL_SITES, "fuel": "both", "site": ""}
    choices.update({key: str(query[key]) for key in ("group", "site", "from", "to", "fuel") if query.get(key)})
    return choices


def update_export(
    scope: str | None,
    group: object,
    site: object,
    start_date: object,
    end_date: object,
    fuel: object,
    shape: object,
    format: object,
) -> tuple[Any, ...]:
    """Show or hide the pickers, check the choices as the route would, and point the link at the file."""
    params = {"from": start_date, "to": end_date, "shape": shape, "format": format, "fuel": fuel}
    if scope == "site":
        params["site"] = site
    else:
        params["group"] = group
    choosing = scope == "site" and not site
    check = (
        ExportCheck() if choosing else check_export(request_session(), current_viewer(), params, app_state().settings)
    )
    visible = {True: "control", False: f"control {HIDDEN}"}
    button = f"button button-primary{'' if check.href else ' ' + HIDDEN}"
    message = html.Div(check.error, className="alert", role="alert") if check.error else None
    return (
        visible[scope != "site"],
        visible[scope == "site"],
        visible[len(check.fuels) > 1],
        _format_options(shape),
        html.P("Choose a site to export.", className="hint") if choosing else message,
        check.summary,
        check.href or "#",
        check.file_name or "",
        button,
        f"Download {check.format_label}",
    )


def register_callbacks(app: Dash) -> None:
    """Bind the export page's callback to ``app``."""
    app.callback(
        Output(ids.EXPORT_GROUP_CONTROL, "className"),
        Output(ids.EXPORT_SITE_CONTROL, "className"),
        Output(ids.EXPORT_FUEL_CONTROL, "className"),
        Output(ids.EXPORT_FORMAT, "options"),
        Output(ids.EXPORT_MESSAGE, "children"),
        Output(ids.EXPORT_SUMMARY, "children"),
        Output(ids.EXPORT_DOWNLOAD, "href"),
        Output(ids.EXPORT_DOWNLOAD, "download"),
        Output(ids.EXPORT_DOWNLOAD, "className"),
        Output(ids.EXPORT_DOWNLOAD, "children"),
        Input(ids.EXPORT_SCOPE, "value"),
        Input(ids.EXPORT_GROUP, "value"),
        Input(ids.EXPORT_SITE, "value"),
        Input(ids.EXPORT_DATES, "start_date"),
        Input(ids.EXPORT_DATES, "end_date"),
        Input(ids.EXPORT_FUEL, "value"),
        Input(ids.EXPORT_SHAPE, "value"),
        Input(ids.EXPORT_FORMAT, "value"),
    )(update_export)
