"""The audit section of the Data sharing page: who has seen the data, filtered, and its CSV download.

Admins read every entry, a customer the entries about their own organisation's data; account managers read
none and get the controls hidden and empty (:func:`make_hidden_audit_section`) so the callbacks' ids exist.
Every callback goes through :mod:`portfolio.services.audit`, which re-checks the policy.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
from dash import Dash, Input, Output, State, dcc, html, no_update
from sqlalchemy.orm import Session

from portfolio.access import AccessDenied, Viewer
from portfolio.services import audit
from portfolio.services.audit import AuditError

from .. import ids
from ..components import date_input, make_data_table, make_field, uk_time_text
from ..context import current_viewer, request_session

HIDDEN = "hidden"
AUDIT_TABLE_COLUMNS = [
    {"name": "When (UK)", "id": "at"},
    {"name": "Last (UK)", "id": "last_at"},
    {"name": "Action", "id": "action"},
    {"name": "Who", "id": "user"},
    {"name": "Organisation", "id": "organisation"},
    {"name": "Detail", "id": "detail"},
]


def make_audit_section(session: Session, viewer: Viewer) -> html.Section:
    """Admins see every entry; a customer the entries about their organisation's data ("who has seen my data")."""
    actions = [{"value": "all", "label": "All actions"}] + [
        {"value": a, "label": a} for a in audit.audit_actions(session, viewer)
    ]
    return html.Section(
        [
            html.H2("Audit: who has seen your data" if not viewer.is_admin else "Audit"),
            html.Div(
                [
                    make_field(
                        "Action",
                        dcc.Dropdown(id=ids.AUDIT_ACTION, options=actions, value="all", clearable=False),
                        ids.AUDIT_ACTION,
                    ),
                    make_field("From", date_input(ids.AUDIT_FROM), ids.AUDIT_FROM),
                    make_field("To", date_input(ids.AUDIT_TO), ids.AUDIT_TO),
                    make_field(
                        "Who (email contains)", dcc.Input(id=ids.AUDIT_USER, type="text", debounce=True), ids.AUDIT_USER
                    ),
                    html.Button("Download CSV", id=ids.AUDIT_DOWNLOAD_BUTTON, className="button"),
                    dcc.Download(id=ids.AUDIT_DOWNLOAD),
                ],
                className="controls",
            ),
            html.P(id=ids.AUDIT_MESSAGE, role="status"),
            make_data_table(ids.AUDIT_TABLE, AUDIT_TABLE_COLUMNS, page_size=20, csv=False),
        ],
        className="audit-section",
    )


def make_hidden_audit_section() -> html.Div:
    """The audit controls' ids, hidden and empty, for viewers who read no audit (account managers)."""
    return html.Div(
        [
            dcc.Dropdown(id=ids.AUDIT_ACTION, options=[], value=None),
            dcc.Input(id=ids.AUDIT_FROM),
            dcc.Input(id=ids.AUDIT_TO),
            dcc.Input(id=ids.AUDIT_USER),
            html.Button(id=ids.AUDIT_DOWNLOAD_BUTTON),
            dcc.Download(id=ids.AUDIT_DOWNLOAD),
            html.P(id=ids.AUDIT_MESSAGE),
            make_data_table(ids.AUDIT_TABLE, AUDIT_TABLE_COLUMNS),
        ],
        className=HIDDEN,
    )


def _as_datetime(value: Any) -> dt.datetime | None:
    """A pandas timestamp cell (or NaT/None) as a datetime or None."""
    if value is None or pd.isna(value):
        return None
    return pd.Timestamp(value).to_pydatetime()


def update_audit(action: str | None, date_from: str | None, date_to: str | None, who: str | None) -> tuple[Any, str]:
    """The entries the viewer may read, filtered."""
    session, viewer = request_session(), current_viewer()
    try:
        entries = audit.load_audit(
            session, viewer, action=action, date_from=date_from, date_to=date_to, user_email=who, limit=1000
        )
    except (AuditError, AccessDenied) as error:
        return [], str(error)
    rows = [
        {
            "at": uk_time_text(_as_datetime(row["at"])),
            "last_at": uk_time_text(_as_datetime(row["last_at"])),
            "action": row["action"],
            "user": row["user"] or "",
            "organisation": row["organisation"] or "",
            "detail": ", ".join(f"{k}: {v}" for k, v in sorted((row["detail"] or {}).items())),
        }
        for row in entries.to_dict("records")
    ]
    return rows, f"{len(rows)} entr{'y' if len(rows) == 1 else 'ies'}" + (
        " (latest 1,000)" if len(rows) == 1000 else ""
    )


def download_audit(
    clicks: int | None, action: str | None, date_from: str | None, date_to: str | None, who: str | None
) -> Any:
    """The filtered entries as CSV (UTC times), audited as an export."""
    if not clicks:
        return no_update
    session, viewer = request_session(), current_viewer()
    try:
        entries = audit.load_audit(session, viewer, action=action, date_from=date_from, date_to=date_to, user_email=who)
    except (AuditError, AccessDenied):
        return no_update
    audit.record_now(
        session,
        "audit_exported",
        user_id=viewer.user_id,
        organisation_id=viewer.own_organisation_id,
        detail={"rows": len(entries)},
    )
    return dcc.send_string(audit.audit_csv(entries), "audit.csv", type="text/csv")


def register_callbacks(app: Dash) -> None:
    """Bind the audit section's callbacks to ``app`` (called from the shell, next to the consent page's)."""
    app.callback(
        Output(ids.AUDIT_TABLE, "rowData"),
        Output(ids.AUDIT_MESSAGE, "children"),
        Input(ids.AUDIT_ACTION, "value"),
        Input(ids.AUDIT_FROM, "value"),
        Input(ids.AUDIT_TO, "value"),
        Input(ids.AUDIT_USER, "value"),
    )(update_audit)
    app.callback(
        Output(ids.AUDIT_DOWNLOAD, "data"),
        Input(ids.AUDIT_DOWNLOAD_BUTTON, "n_clicks"),
        State(ids.AUDIT_ACTION, "value"),
        State(ids.AUDIT_FROM, "value"),
        State(ids.AUDIT_TO, "value"),
        State(ids.AUDIT_USER, "value"),
        prevent_initial_call=True,
    )(download_audit)
