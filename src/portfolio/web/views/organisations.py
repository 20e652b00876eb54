"""The admin Organisations page: the customer list's upload and every organisation's enrolment state.

Admins only: the page refuses everyone else, and the upload callback re-checks through the service (which asks
:mod:`portfolio.access`). A refused list changes nothing and shows each problem with its line.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from dash import Dash, Input, Output, State, dcc, html, no_update
from sqlalchemy.orm import Session

from portfolio.access import AccessDenied, Viewer
from portfolio.ingest.customers import CustomerListError
from portfolio.ingest.records import ImportFormatError
from portfolio.services import customers
from portfolio.web.context import app_state, current_viewer, request_session, signed_in_user
from portfolio.web.inputs import as_optional_text

ORGANISATIONS_UPLOAD = "organisations-upload"
ORGANISATIONS_RESULT = "organisations-result"
ORGANISATIONS_TABLE = "organisations-table"
MAX_LIST_BYTES = 20 << 20
MAX_DATA_URL_CHARACTERS = (MAX_LIST_BYTES * 4) // 3 + 1024
HEADERS = ("Account", "Organisation", "Enrolment", "Micro-business", "Broker", "Contacts", "Users")


def make_refusal() -> html.Section:
    return html.Section(
        [html.H1("Organisations"), html.P("This page is for administrators.", className="alert", role="alert")],
        className="page organisations-page",
    )


def make_organisations_table(rows: list[customers.OrganisationRow]) -> html.Table:
    return html.Table(
        [
            html.Thead(html.Tr([html.Th(h) for h in HEADERS])),
            html.Tbody(
                [
                    html.Tr(
                        [
                            html.Td(r.account_number),
                            html.Td(r.name),
                            html.Td(r.state, className=f"state state-{r.state.replace(' ', '-')}"),
                            html.Td("yes" if r.micro_business else ""),
                            html.Td(r.broker),
                            html.Td(r.contacts),
                            html.Td(str(r.users), className="num"),
                        ]
                    )
                    for r in rows
                ]
            ),
        ],
        className="table organisations-table",
    )


def make_organisations_layout(session: Session | None, viewer: Viewer | None) -> html.Section:
    rows = customers.organisation_rows(session, viewer) if session is not None and viewer is not None else []
    needed = sum(r.state == "contact details needed" for r in rows)
    return html.Section(
        [
            html.H1("Organisations"),
            html.P(
                "Upload the customer list (CSV or Excel, one row per contact; see docs/customers.md). Importing it "
                "again changes only what changed; a list with any problem changes nothing."
            ),
            dcc.Upload(
                id=ORGANISATIONS_UPLOAD,
                children=html.Div(["Drag the customer list here or ", html.A("choose it", href="#")]),
                className="upload-drop",
                multiple=False,
            ),
            dcc.Loading(html.Div(id=ORGANISATIONS_RESULT, className="upload-result"), type="default"),
            html.P(f"{len(rows)} organisations; contact details needed: {needed}.", className="muted"),
            html.Div(make_organisations_table(rows), id=ORGANISATIONS_TABLE),
        ],
        className="page organisations-page",
    )


def _error(message: str, problems: list[str] | None = None) -> html.Div:
    items = [html.Li(p) for p in problems or []]
    return html.Div(
        [html.P(message, className="alert", role="alert"), *([html.Ul(items, className="problems")] if items else [])]
    )


def update_customer_import(contents: str | None, filename: str | None) -> tuple[Any, Any]:
    """Import the dropped customer list in one transaction and show what it changed (or every problem)."""
    contents = as_optional_text(contents, "the uploaded file", MAX_DATA_URL_CHARACTERS)
    filename = as_optional_text(filename, "the file name", 255) or "customers.csv"
    if not contents or signed_in_user() is None:
        return no_update, no_update
    session, viewer = request_session(), current_viewer()
    try:
        data = base64.b64decode(contents.split(",", 1)[1], validate=True)
        report = customers.import_customer_file(session, viewer, filename, data, settings=app_state().settings)
    except (binascii.Error, IndexError):
        return _error("Not imported: the upload was damaged on the way; drop the file again"), no_update
    except CustomerListError as error:
        return _error("Not imported: nothing was changed. Fix these lines and upload again:", error.problems), no_update
    except ImportFormatError as error:
        return _error(f"Not imported: {error}"), no_update
    except AccessDenied as error:
        return _error(str(error)), no_update
    summary = (
        f"Imported {filename}: {report.created} created, {report.changed} changed, {report.unchanged} unchanged; "
        f"{report.invited} invited; contact details needed: {report.contact_details_needed}; "
        f"opt-out notices sent: {report.notices_sent}."
    )
    table = make_organisations_table(customers.organisation_rows(session, viewer))
    return html.P(summary, className="notice", role="status"), table


def register_callbacks(app: Dash) -> None:
    app.callback(
        Output(ORGANISATIONS_RESULT, "children"),
        Output(ORGANISATIONS_TABLE, "children"),
        Input(ORGANISATIONS_UPLOAD, "contents"),
        State(ORGANISATIONS_UPLOAD, "filename"),
        prevent_initial_call=True,
    )(update_customer_import)
