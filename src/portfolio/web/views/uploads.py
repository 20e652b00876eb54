"""The upload page's layout and callbacks: drop a file, see how it will be read, confirm, get the summary.

The dropped file is staged on disk by the import service (never kept in a worker), previewed without storing
anything, and imported only on "Import". Both callbacks re-check the signed-in user's role and access.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

import pandas as pd
from dash import Dash, Input, Output, State, dcc, html, no_update

from portfolio.ingest.records import ImportFormatError
from portfolio.services import imports as imports_service
from portfolio.services import uploads as service
from portfolio.timekeeping import UK_TIME_ZONE
from portfolio.web.context import app_state, current_viewer, signed_in_user
from portfolio.web.inputs import as_count, as_optional_text

UPLOAD_DROP = "upload-drop"
UPLOAD_PREVIEW = "upload-preview"
UPLOAD_TOKEN = "upload-token"
UPLOAD_CONFIRM = "upload-confirm"
UPLOAD_RESULT = "upload-result"


MAX_UPLOAD_DATA_URL_CHARACTERS = (service.MAX_UPLOAD_BYTES * 4) // 3 + 1024
"""The largest upload as a base64 data URL (4 characters per 3 bytes, plus its header)."""


def make_refusal() -> html.Section:
    return html.Section(
        [html.H1("Upload"), html.P("Uploads are for administrators and brokers.", className="alert", role="alert")],
        className="page upload-page",
    )


def make_upload_layout() -> html.Section:
    return html.Section(
        [
            html.H1("Upload meter data"),
            html.P(
                "Drop a CSV, Excel (.xlsx, .xls) or Green Button XML file, or a .gz / .zip of one. You will see how "
                "it will be read before anything is stored. Meters that match no site go to the administrators' "
                "Unassigned queue."
            ),
            dcc.Upload(
                id=UPLOAD_DROP,
                children=html.Div(["Drag a file here or ", html.A("choose one", href="#")]),
                className="upload-drop",
                multiple=False,
            ),
            dcc.Loading(html.Div(id=UPLOAD_PREVIEW, className="upload-preview"), type="default"),
            dcc.Store(id=UPLOAD_TOKEN),
            html.Button("Import", id=UPLOAD_CONFIRM, disabled=True, className="button primary"),
            dcc.Loading(html.Div(id=UPLOAD_RESULT, className="upload-result"), type="default"),
        ],
        className="page upload-page",
    )


def _local(ts: int | None) -> str:
    if ts is None:
        return "—"
    return f"{pd.Timestamp(ts, unit='s', tz='UTC').tz_convert(UK_TIME_ZONE):%d %b %Y %H:%M}"


def _error(message: str) -> html.P:
    return html.P(message, className="alert", role="alert")


def make_preview(preview: imports_service.Preview, matches: list[service.MeterMatch], filename: str) -> html.Div:
    layout = preview.parsed.layout
    facts = [
        ("file", filename),
        ("layout", layout.layout if layout else preview.parsed.format),
        ("time basis", layout.time_basis if layout else "—"),
        ("labelling", layout.labelling if layout else "—"),
        *((name, value) for name, value in (layout.details if layout else ())),
        *((("profile", preview.profile),) if preview.profile else ()),
    ]
    meters = html.Table(
        [
            html.Thead(html.Tr([html.Th(h) for h in ("meter", "site", "readings", "total kWh", "first", "last")])),
            html.Tbody(
                [
                    html.Tr(
                        [
                            html.Td(m.identifier),
                            html.Td(m.site or "new: Unassigned queue"),
                            html.Td(f"{m.readings:,}", className="num"),
                            html.Td(f"{m.total_kwh:,.3f}", className="num"),
                            html.Td(_local(m.first_ts)),
                            html.Td(_local(m.last_ts)),
                        ]
                    )
                    for m in matches
                ]
            ),
        ],
        className="table upload-meters",
    )
    rows = preview.first_rows
    first = html.Table(
        [
            html.Thead(html.Tr([html.Th(h) for h in ("meter", "start (UK time)", "minutes", "kWh", "estimated")])),
            html.Tbody(
                [
                    html.Tr(
                        [
                            html.Td(str(meter)),
                            html.Td(_local(int(start_ts))),
                            html.Td(int(interval_seconds) // 60, className="num"),
                            html.Td(f"{energy_kwh:g}", className="num"),
                            html.Td("yes" if estimated else ""),
                        ]
                    )
                    for meter, start_ts, interval_seconds, energy_kwh, estimated in zip(
                        rows["meter"].tolist(),
                        rows["start_ts"].tolist(),
                        rows["interval_seconds"].tolist(),
                        rows["energy_kwh"].tolist(),
                        rows["estimated"].tolist(),
                        strict=True,
                    )
                ]
            ),
        ],
        className="table upload-first-rows",
    )
    return html.Div(
        [
            html.H2("How the file will be read"),
            html.Dl([part for name, value in facts for part in (html.Dt(name), html.Dd(str(value)))]),
            html.H3("Meters"),
            meters,
            html.H3("First readings"),
            first,
        ]
    )


def update_upload_preview(contents: str | None, filename: str | None) -> tuple[Any, Any, bool]:
    """Stage the dropped file and show how it will be read; nothing is stored."""
    contents = as_optional_text(contents, "the uploaded file", MAX_UPLOAD_DATA_URL_CHARACTERS)
    filename = as_optional_text(filename, "the file name", 255)
    if not contents or signed_in_user() is None:
        return no_update, no_update, True
    viewer, state = current_viewer(), app_state()
    try:
        data = base64.b64decode(contents.split(",", 1)[1], validate=True)
        token = service.stage_upload(state.settings.instance_path, viewer, filename or "upload", data)
        preview, matches = service.preview_upload(state.session_factory, viewer, state.settings.instance_path, token)
    except (ImportFormatError, service.UploadRefused) as error:
        return _error(f"Not imported: {error}"), None, True
    except (binascii.Error, IndexError):
        return _error("Not imported: the upload was damaged on the way; drop the file again"), None, True
    return make_preview(preview, matches, filename or "upload"), token, False


def update_upload_result(clicks: int | None, token: str | None) -> tuple[Any, bool]:
    """Import the staged file in one transaction and show what it brought."""
    clicks, token = as_count(clicks), as_optional_text(token, "the upload token", 200)
    if not clicks or not token or signed_in_user() is None:
        return no_update, True
    state = app_state()
    try:
        result = service.confirm_upload(
            state.session_factory, current_viewer(), state.settings.instance_path, token, settings=state.settings
        )
    except (ImportFormatError, service.UploadRefused) as error:
        return _error(f"Not imported: {error}"), True
    loaded = result.summary
    created = f", {loaded.sites_created} new in the Unassigned queue" if loaded.sites_created else ""
    return (
        html.P(
            f"Imported {loaded.readings:,} readings for {loaded.sites} sites{created}, "
            f"{_local(result.first_interval_ts)} to {_local(result.last_interval_ts)}.",
            className="notice",
            role="status",
        ),
        True,
    )


def register_callbacks(app: Dash) -> None:
    """Bind the upload page's callbacks to ``app``."""
    app.callback(
        Output(UPLOAD_PREVIEW, "children"),
        Output(UPLOAD_TOKEN, "data"),
        Output(UPLOAD_CONFIRM, "disabled"),
        Input(UPLOAD_DROP, "contents"),
        State(UPLOAD_DROP, "filename"),
        prevent_initial_call=True,
    )(update_upload_preview)
    app.callback(
        Output(UPLOAD_RESULT, "children"),
        Output(UPLOAD_CONFIRM, "disabled", allow_duplicate=True),
        Input(UPLOAD_CONFIRM, "n_clicks"),
        State(UPLOAD_TOKEN, "data"),
        prevent_initial_call=True,
    )(update_upload_result)
