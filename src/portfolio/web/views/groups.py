"""The groups page: create, rename, delete and fill portfolio groups through ``portfolio.services.groups``.

Every change goes through the group service, which checks the access policy; this module only turns
its ``GroupError``/``AccessDenied`` into readable messages. Kept out of ``pages/`` so tests can import
it; its callbacks are bound per app by :func:`register_callbacks` (called from the shell).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import dash
import pandas as pd
from dash import Dash, Input, Output, State, dcc, html
from sqlalchemy.orm import Session

from portfolio.access import AccessDenied, Viewer
from portfolio.queries.sites import load_site_summaries
from portfolio.services.groups import (
    ADD,
    ALL_SITES,
    CREATE,
    DELETE,
    MAX_NAME_LENGTH,
    PASTE,
    REMOVE,
    RENAME,
    ActionResult,
    GroupError,
    GroupForm,
    apply_group_action,
    can_edit_group,
    group_options,
    group_site_ids,
    plural,
    viewable_group,
)

from .. import ids
from ..components import aria, make_data_table
from ..context import current_viewer, request_session
from .sites import site_rows

HIDDEN = "hidden"
ACTIONS = {
    ids.GROUPS_CREATE: CREATE,
    ids.GROUPS_RENAME: RENAME,
    ids.GROUPS_DELETE: DELETE,
    ids.GROUPS_ADD: ADD,
    ids.GROUPS_REMOVE: REMOVE,
    ids.GROUPS_PASTE_ADD: PASTE,
}
PICKER_COLUMNS = [
    ("name", "Site"),
    ("organisation", "Organisation"),
    ("postcode", "Postcode"),
    ("fuel", "Fuel"),
    ("meter_type", "Meter type"),
    ("meter_identifier", "MPAN / MPRN"),
]


def picker_rows(summaries: pd.DataFrame) -> list[dict[str, Any]]:
    """The home page's rows, keyed by site id so the table's selection is a list of site ids."""
    return [{**row, "id": int(site_id)} for row, site_id in zip(site_rows(summaries), summaries["id"], strict=True)]


def editable_options(options: Sequence[tuple[str, str, bool]]) -> list[dict[str, str]]:
    """The groups the viewer can pick here ("All sites" is automatic, so it is not listed)."""
    return [
        {"label": label if editable else f"{label} · read-only", "value": value}
        for value, label, editable in options
        if value != ALL_SITES
    ]


def feedback(result: ActionResult) -> html.Div:
    if result.ok:
        return html.Div(result.message, className="notice", role="status")
    return html.Div(result.message, className="alert", role="alert")


def make_site_table(
    table_id: str, selectable: bool, page_size: int, rows: list[dict[str, Any]] | None = None
) -> html.Div:
    columns = [{"id": key, "name": name} for key, name in PICKER_COLUMNS]
    return make_data_table(table_id, columns, data=rows, page_size=page_size, selectable=selectable)


def make_groups_layout(
    options: Sequence[tuple[str, str, bool]], sites: list[dict[str, Any]], read_only: bool, selected: str | None
) -> html.Section:
    """The page; read-only viewers get the same tree with every edit control hidden (ids must exist)."""
    picks = editable_options(options)
    edit = HIDDEN if read_only else ""
    return html.Section(
        [
            html.Div(
                [
                    html.H1("Groups"),
                    html.P(
                        "Everyone has an automatic “All sites” view. Groups you name here come on top of it; "
                        "a site can be in several groups.",
                        className="muted",
                    ),
                ],
                className="page-header",
            ),
            html.Div(
                [
                    html.Div(
                        [
                            html.Label("Group", htmlFor=ids.GROUPS_PICKER, className="control-label"),
                            dcc.Dropdown(
                                id=ids.GROUPS_PICKER,
                                options=picks,
                                value=selected,
                                clearable=False,
                                placeholder="No groups yet" if not picks else "Choose a group",
                                className="group-dropdown",
                            ),
                        ],
                        className="control",
                    ),
                    html.Div(
                        [
                            html.Label("New group", htmlFor=ids.GROUPS_NEW_NAME, className="control-label"),
                            html.Div(
                                [
                                    dcc.Input(
                                        id=ids.GROUPS_NEW_NAME,
                                        type="text",
                                        maxLength=MAX_NAME_LENGTH + 20,
                                        placeholder="e.g. London stores",
                                        className="text-input",
                                        debounce=False,
                                    ),
                                    html.Button(
                                        "Create group",
                                        id=ids.GROUPS_CREATE,
                                        n_clicks=0,
                                        className="button button-primary",
                                    ),
                                ],
                                className="inline-form",
                            ),
                            html.P("Sites ticked in the table below go into the new group.", className="hint"),
                        ],
                        id=ids.GROUPS_CREATE_FORM,
                        className=f"control {edit}",
                    ),
                ],
                className="controls card",
            ),
            html.Div(id=ids.GROUPS_FEEDBACK, **aria(live="polite")),
            html.Div(
                [
                    html.Div(
                        [
                            html.H2(id=ids.GROUPS_DETAIL_TITLE),
                            html.P(
                                "Read-only: you can look at this group but not change it.",
                                id=ids.GROUPS_READ_ONLY_NOTE,
                                className=f"muted {HIDDEN}",
                            ),
                        ],
                        className="detail-header",
                    ),
                    html.Div(
                        [
                            html.Label("Name", htmlFor=ids.GROUPS_RENAME_NAME, className="control-label"),
                            dcc.Input(
                                id=ids.GROUPS_RENAME_NAME,
                                type="text",
                                maxLength=MAX_NAME_LENGTH + 20,
                                className="text-input",
                            ),
                            html.Button(
                                "Rename", id=ids.GROUPS_RENAME, n_clicks=0, className="button button-secondary"
                            ),
                            dcc.ConfirmDialogProvider(
                                html.Button(
                                    "Delete group", id=ids.GROUPS_DELETE_BUTTON, className="button button-danger"
                                ),
                                id=ids.GROUPS_DELETE,
                                message="Delete this group? Its sites are not affected.",
                            ),
                            html.Button(
                                "Remove ticked sites",
                                id=ids.GROUPS_REMOVE,
                                n_clicks=0,
                                className="button button-secondary push-right",
                            ),
                        ],
                        id=ids.GROUPS_EDIT_CONTROLS,
                        className=f"inline-form edit-row {HIDDEN}",
                    ),
                    html.Div(
                        make_site_table(ids.GROUPS_MEMBERS_TABLE, selectable=not read_only, page_size=15),
                        className="card",
                    ),
                ],
                id=ids.GROUPS_DETAIL,
                className=f"group-detail {HIDDEN}",
            ),
            html.Div(
                [
                    html.H2("Add sites"),
                    html.P(
                        "Search, sort and filter by name, organisation, postcode, fuel or meter type, then tick sites.",
                        className="muted",
                    ),
                    html.Div(
                        make_site_table(
                            ids.GROUPS_SITES_TABLE,
                            selectable=not read_only,
                            page_size=15,
                            rows=[] if read_only else sites,
                        ),
                        className="card",
                    ),
                    html.Div(
                        html.Button(
                            "Add ticked sites to the group",
                            id=ids.GROUPS_ADD,
                            n_clicks=0,
                            className="button button-primary",
                        ),
                        className="inline-form",
                    ),
                    html.H3("Or paste a list"),
                    html.Label(
                        "MPANs, MPRNs or site names, one per line (as copied from a spreadsheet)",
                        htmlFor=ids.GROUPS_PASTE,
                        className="control-label",
                    ),
                    dcc.Textarea(
                        id=ids.GROUPS_PASTE,
                        value="",
                        className="paste-box",
                        placeholder="1200012345678\n7654321\nAcme Bakery",
                    ),
                    html.Div(
                        html.Button(
                            "Add pasted sites", id=ids.GROUPS_PASTE_ADD, n_clicks=0, className="button button-primary"
                        ),
                        className="inline-form",
                    ),
                ],
                id=ids.GROUPS_ADD_PANEL,
                className=f"add-panel {edit}",
            ),
            dcc.Store(id=ids.GROUPS_REVISION, data=0),
        ],
        className="page groups-page",
    )


# Callbacks ----------------------------------------------------------------------------------------


def _row_ids(selected_rows: list[object] | None) -> list[object]:
    """The ``id`` of each selected grid row, still untrusted: the service checks every one."""
    return [row.get("id") if isinstance(row, dict) else row for row in selected_rows or []]


def update_groups(
    _create: int | None,
    _rename: int | None,
    _delete: int | None,
    _add: int | None,
    _remove: int | None,
    _paste: int | None,
    group: str | None,
    new_name: str | None,
    rename: str | None,
    picked: list[object] | None,
    members: list[object] | None,
    pasted: str | None,
    revision: int | None,
) -> tuple[Any, ...]:
    """One button press: the service validates and refuses; we commit, then say what happened."""
    action = ACTIONS.get(str(dash.callback_context.triggered_id))
    if action is None:
        raise dash.exceptions.PreventUpdate
    session, viewer = request_session(), current_viewer()
    form = GroupForm(group, new_name, rename, _row_ids(picked), _row_ids(members), pasted or "")
    result = apply_group_action(session, viewer, action, form)
    options = editable_options(group_options(session, viewer))
    selected = result.group if result.ok or action != DELETE else group
    if action == DELETE and result.ok:
        selected = options[0]["value"] if options else None
    new_name_value = "" if result.ok and action == CREATE else dash.no_update
    picked_rows: Any = [] if result.ok and action in (CREATE, ADD) else dash.no_update
    pasted_value = result.pasted if result.pasted is not None else dash.no_update
    return feedback(result), options, selected, (revision or 0) + 1, new_name_value, picked_rows, pasted_value


def update_group_detail(group: str | None, _revision: int | None) -> tuple[Any, ...]:
    """Show the chosen group's sites; edit controls only when the viewer owns it (the server checks anyway)."""
    hidden_all: tuple[Any, ...] = (
        f"group-detail {HIDDEN}",
        "",
        f"muted {HIDDEN}",
        f"inline-form edit-row {HIDDEN}",
        "",
        [],
        [],
        dash.no_update,
    )
    if not group:
        return hidden_all
    session, viewer = request_session(), current_viewer()
    try:
        found = viewable_group(session, viewer, group)
        members = set(group_site_ids(session, viewer, group))
    except (AccessDenied, GroupError):
        return hidden_all
    editable = can_edit_group(viewer, found)
    summaries = load_site_summaries(session, viewer)
    rows = picker_rows(summaries.loc[summaries["id"].isin(members)])
    title = f"{found.name} · {plural(len(rows))}"
    edit_class = "inline-form edit-row" if editable else f"inline-form edit-row {HIDDEN}"
    note_class = f"muted {HIDDEN}" if editable else "muted"
    message = f"Delete the group “{found.name}”? Its sites are not affected."
    return "group-detail", title, note_class, edit_class, found.name, rows, [], message


def load_picker(session: Session, viewer: Viewer) -> list[dict[str, Any]]:
    """Every site the viewer may put in a group."""
    return picker_rows(load_site_summaries(session, viewer))


def register_callbacks(app: Dash) -> None:
    """Bind the groups page's callbacks to ``app`` (Dash re-imports page modules for every app)."""
    app.callback(
        Output(ids.GROUPS_FEEDBACK, "children"),
        Output(ids.GROUPS_PICKER, "options"),
        Output(ids.GROUPS_PICKER, "value"),
        Output(ids.GROUPS_REVISION, "data"),
        Output(ids.GROUPS_NEW_NAME, "value"),
        Output(ids.GROUPS_SITES_TABLE, "selectedRows"),
        Output(ids.GROUPS_PASTE, "value"),
        Input(ids.GROUPS_CREATE, "n_clicks"),
        Input(ids.GROUPS_RENAME, "n_clicks"),
        Input(ids.GROUPS_DELETE, "submit_n_clicks"),
        Input(ids.GROUPS_ADD, "n_clicks"),
        Input(ids.GROUPS_REMOVE, "n_clicks"),
        Input(ids.GROUPS_PASTE_ADD, "n_clicks"),
        State(ids.GROUPS_PICKER, "value"),
        State(ids.GROUPS_NEW_NAME, "value"),
        State(ids.GROUPS_RENAME_NAME, "value"),
        State(ids.GROUPS_SITES_TABLE, "selectedRows"),
        State(ids.GROUPS_MEMBERS_TABLE, "selectedRows"),
        State(ids.GROUPS_PASTE, "value"),
        State(ids.GROUPS_REVISION, "data"),
        prevent_initial_call=True,
    )(update_groups)
    app.callback(
        Output(ids.GROUPS_DETAIL, "className"),
        Output(ids.GROUPS_DETAIL_TITLE, "children"),
        Output(ids.GROUPS_READ_ONLY_NOTE, "className"),
        Output(ids.GROUPS_EDIT_CONTROLS, "className"),
        Output(ids.GROUPS_RENAME_NAME, "value"),
        Output(ids.GROUPS_MEMBERS_TABLE, "rowData"),
        Output(ids.GROUPS_MEMBERS_TABLE, "selectedRows"),
        Output(ids.GROUPS_DELETE, "message"),
        Input(ids.GROUPS_PICKER, "value"),
        Input(ids.GROUPS_REVISION, "data"),
    )(update_group_detail)
