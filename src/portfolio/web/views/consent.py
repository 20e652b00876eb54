"""The "Data sharing" page: who can see an organisation's data (grants and shared views, with one-click revoke
and the history), sharing a view, "Shared with me", and the audit of who has seen the data (filter, CSV; its
section and callbacks are in ``web/views/audit.py``).

Kept out of ``pages/`` so tests can import it; :func:`register_callbacks` binds the callbacks per app. Every
callback works as the signed-in user through :mod:`portfolio.services.consent`, ``shared_views`` and ``audit``,
which re-check the policy; controls a viewer may not use are not rendered for them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from dash import ALL, Dash, Input, Output, State, ctx, dcc, html, no_update
from sqlalchemy.orm import Session

from portfolio.access import AccessDenied, Viewer, can_manage_consent
from portfolio.services import audit, shared_views
from portfolio.services.consent import ConsentError, GrantRow, consent_rows, revoke_grant
from portfolio.services.groups import group_options

from .. import ids
from ..components import aria, date_input, make_field, uk_time_text
from ..context import app_state, current_viewer, request_session
from .audit import make_audit_section, make_hidden_audit_section
from .opt_out import make_opt_out_section

HIDDEN = "hidden"
NOT_FOUND = "That does not exist or is no longer yours to change."


def _table(headers: list[str], rows: list[list[Any]], table_id: str, empty: str) -> html.P | html.Table:
    if not rows:
        return html.P(empty, className="hint", id=table_id)
    return html.Table(
        [
            html.Thead(html.Tr([html.Th(h, scope="col") for h in headers])),
            html.Tbody([html.Tr([html.Td(cell) for cell in row]) for row in rows]),
        ],
        className="plain-table",
        id=table_id,
    )


def _revoke_button(kind: str, item_id: int, label: str) -> html.Button:
    return html.Button(
        "Revoke",
        id={"type": kind, "id": item_id},
        className="button button-quiet",
        title=f"Revoke {label} now",
        **aria(label=f"Revoke {label}"),
    )


def _grant_cells(row: GrantRow, revocable: bool) -> list[Any]:
    cells: list[Any] = [
        row.kind + (f" (shared view “{row.shared_view}”)" if row.shared_view else ""),
        row.grantee,
        row.scope,
        row.data,
        row.rights,
        uk_time_text(row.valid_from),
        uk_time_text(row.valid_until) if row.valid_until else "until revoked",
        uk_time_text(row.last_access),
    ]
    if revocable:
        cells.append(_revoke_button(ids.CONSENT_REVOKE_GRANT, row.id, row.grantee))
    else:
        cells.append(f"{row.status}{': ' + row.revoked if row.revoked else ''}")
    return cells


def _view_cells(row: shared_views.SharedViewRow, revocable: bool, show_owner: bool) -> list[Any]:
    opened = "; ".join(f"{who} {uk_time_text(at)}" for who, at in row.opens[:5]) or "not opened yet"
    cells: list[Any] = [row.name]
    if show_owner:
        cells.append(row.shared_by)
    cells += [
        ", ".join(row.recipients),
        f"{row.date_from:%Y-%m-%d} to {row.date_to:%Y-%m-%d}, {row.fuel}, {row.granularity}",
        uk_time_text(row.valid_until) if row.valid_until else "until revoked",
        opened,
    ]
    if revocable and row.status == "active":
        cells.append(_revoke_button(ids.CONSENT_REVOKE_VIEW, row.id, f"shared view {row.name}"))
    else:
        cells.append(row.status)
    return cells


def make_consent_sections(session: Session, viewer: Viewer) -> list[Any]:
    """Everything that changes when something is shared or revoked, rendered from the database."""
    sections: list[Any] = []
    organisation = viewer.own_organisation_id
    if organisation is not None and can_manage_consent(viewer, organisation):
        rows = consent_rows(session, viewer)
        current = [r for r in rows if r.status in ("active", "scheduled")]
        past = [r for r in rows if r.status not in ("active", "scheduled")]
        headers = ["Kind", "Who", "Sites", "Data", "Rights", "From", "Until", "Last access"]
        # Views the viewer shared are listed under "Views you shared" (one revoke button per view).
        views = [v for v in shared_views.views_of_organisation(session, viewer) if v.shared_by != viewer.email]
        sections += [
            html.H2("Who can see your data"),
            _table(
                [*headers, ""],
                [_grant_cells(r, revocable=True) for r in current],
                ids.CONSENT_GRANTS,
                "Nobody outside your organisation can see your data.",
            ),
            html.H2("Shared views of your data"),
            _table(
                ["View", "Shared by", "With", "Shows", "Until", "Opened", ""],
                [_view_cells(v, revocable=True, show_owner=True) for v in views],
                ids.CONSENT_VIEWS,
                "No view of your data is shared.",
            ),
            html.H2("History"),
            _table(
                [*headers, "State"],
                [_grant_cells(r, revocable=False) for r in past],
                ids.CONSENT_HISTORY,
                "No past grants.",
            ),
        ]
    mine = shared_views.views_shared_by(session, viewer)
    if mine:
        sections += [
            html.H2("Views you shared"),
            _table(
                ["View", "With", "Shows", "Until", "Opened", ""],
                [_view_cells(v, revocable=True, show_owner=False) for v in mine],
                ids.CONSENT_MY_VIEWS,
                "",
            ),
        ]
    with_me = shared_views.views_shared_with(session, viewer)
    sections += [
        html.H2("Shared with me"),
        html.Ul(
            [
                html.Li(
                    [
                        dcc.Link(v.name, href=f"/shared/{v.id}", className="shared-view-link"),
                        html.Span(f" from {v.shared_by} · read-only", className="hint"),
                    ]
                )
                for v in with_me
            ],
            id=ids.CONSENT_SHARED_WITH_ME,
        )
        if with_me
        else html.P("Nothing is shared with you.", className="hint", id=ids.CONSENT_SHARED_WITH_ME),
    ]
    return sections


def make_share_form(session: Session, viewer: Viewer, today: dt.date) -> html.Details:
    """Share a saved view read-only with named people; only for viewers who may manage what they share."""
    groups = [{"value": value, "label": label} for value, label, _ in group_options(session, viewer)]
    return html.Details(
        [
            html.Summary("Share a view"),
            make_field("Name", dcc.Input(id=ids.SHARE_NAME, type="text", maxLength=100), ids.SHARE_NAME),
            make_field(
                "Group", dcc.Dropdown(id=ids.SHARE_GROUP, options=groups, value="all", clearable=False), ids.SHARE_GROUP
            ),
            make_field(
                "From",
                date_input(ids.SHARE_FROM, value=(today - dt.timedelta(days=30)).isoformat()),
                ids.SHARE_FROM,
            ),
            make_field(
                "To",
                date_input(ids.SHARE_TO, value=(today - dt.timedelta(days=1)).isoformat()),
                ids.SHARE_TO,
            ),
            make_field(
                "Fuel",
                dcc.Dropdown(id=ids.SHARE_FUEL, options=list(shared_views.FUELS), value="both", clearable=False),
                ids.SHARE_FUEL,
            ),
            make_field(
                "Granularity",
                dcc.Dropdown(
                    id=ids.SHARE_GRANULARITY, options=list(shared_views.GRANULARITIES), value="auto", clearable=False
                ),
                ids.SHARE_GRANULARITY,
            ),
            make_field(
                "With (emails, separated by commas)",
                dcc.Textarea(id=ids.SHARE_EMAILS, placeholder="name@example.com"),
                ids.SHARE_EMAILS,
            ),
            make_field("Until (optional, last day)", date_input(ids.SHARE_UNTIL), ids.SHARE_UNTIL),
            html.Button("Share read-only", id=ids.SHARE_SUBMIT, className="button button-primary"),
        ],
        className="share-form",
        id=ids.SHARE_FORM,
    )


def make_consent_layout(session: Session, viewer: Viewer, today: dt.date) -> html.Section:
    children: list[Any] = [
        html.H1("Data sharing"),
        html.P(
            "Everyone outside your organisation who can see your data, what they can see and until when. "
            "Revoking takes effect at their next request.",
            className="lead",
        ),
        html.P(id=ids.CONSENT_MESSAGE, role="status", className="message"),
        html.Div(make_consent_sections(session, viewer), id=ids.CONSENT_SECTIONS),
        make_opt_out_section(session, viewer),
    ]
    # Controls a viewer may not use are not shown; they stay in the page hidden (and empty) only so the
    # callbacks' states exist, and the services refuse them whatever is sent.
    share = make_share_form(session, viewer, today)
    if viewer.read_only:
        children.append(html.Div(html.Div(id=ids.SHARE_FORM, children=share.children), className=HIDDEN))
    else:
        children.append(share)
    auditable = viewer.is_admin or viewer.own_organisation_id is not None
    section = make_audit_section(session, viewer) if auditable else make_hidden_audit_section()
    children.append(section)
    return html.Section(children, className="page consent-page")


# Callbacks -------------------------------------------------------------------------------------------------------


def _clicked() -> bool:
    return bool(ctx.triggered and ctx.triggered[0].get("value"))


def update_consent(
    _grant_clicks: list[int | None],
    _view_clicks: list[int | None],
    _share_clicks: int | None,
    name: str | None,
    group: str | None,
    date_from: str | None,
    date_to: str | None,
    fuel: str | None,
    granularity: str | None,
    emails: str | None,
    until: str | None,
) -> tuple[Any, str]:
    """Revoke a grant, revoke a shared view, or share one; then show the page as it now stands."""
    trigger = ctx.triggered_id
    if trigger is None or not _clicked():
        return no_update, cast(str, no_update)
    session, viewer = request_session(), current_viewer()
    try:
        if trigger == ids.SHARE_SUBMIT:
            view = shared_views.share_view(
                session,
                viewer,
                name=name,
                group_id=group,
                date_from=date_from,
                date_to=date_to,
                fuel=fuel,
                granularity=granularity,
                emails=emails or "",
                valid_until=until,
                base_url=app_state().settings.base_url,
            )
            message = f"Shared “{view.name}” read-only with {', '.join(r.email for r in view.recipients)}."
        elif trigger["type"] == ids.CONSENT_REVOKE_GRANT:
            revoke_grant(session, viewer, trigger["id"])
            message = "Revoked: their next request is refused."
        else:
            shared_views.revoke_shared_view(session, viewer, trigger["id"])
            message = "Shared view revoked: its recipients' next request is refused."
    except ConsentError as error:
        return no_update, str(error)
    except AccessDenied as error:
        audit.record_refusal(session, viewer, "consent", trigger)
        return no_update, str(error) if trigger == ids.SHARE_SUBMIT else NOT_FOUND
    return make_consent_sections(session, viewer), message


def register_callbacks(app: Dash) -> None:
    app.callback(
        Output(ids.CONSENT_SECTIONS, "children"),
        Output(ids.CONSENT_MESSAGE, "children"),
        Input({"type": ids.CONSENT_REVOKE_GRANT, "id": ALL}, "n_clicks"),
        Input({"type": ids.CONSENT_REVOKE_VIEW, "id": ALL}, "n_clicks"),
        Input(ids.SHARE_SUBMIT, "n_clicks"),
        State(ids.SHARE_NAME, "value"),
        State(ids.SHARE_GROUP, "value"),
        State(ids.SHARE_FROM, "value"),
        State(ids.SHARE_TO, "value"),
        State(ids.SHARE_FUEL, "value"),
        State(ids.SHARE_GRANULARITY, "value"),
        State(ids.SHARE_EMAILS, "value"),
        State(ids.SHARE_UNTIL, "value"),
        prevent_initial_call=True,
    )(update_consent)


def make_signed_out_layout() -> html.Section:
    """Every id the callbacks use, empty and hidden: Dash validates callbacks against a layout built anonymously."""
    form = html.Details(
        [
            dcc.Input(id=ids.SHARE_NAME),
            dcc.Dropdown(id=ids.SHARE_GROUP, options=[]),
            dcc.Input(id=ids.SHARE_FROM),
            dcc.Input(id=ids.SHARE_TO),
            dcc.Dropdown(id=ids.SHARE_FUEL, options=[]),
            dcc.Dropdown(id=ids.SHARE_GRANULARITY, options=[]),
            dcc.Textarea(id=ids.SHARE_EMAILS),
            dcc.Input(id=ids.SHARE_UNTIL),
            html.Button(id=ids.SHARE_SUBMIT),
        ],
        id=ids.SHARE_FORM,
    )
    return html.Section(
        [
            html.P(id=ids.CONSENT_MESSAGE),
            html.Div(
                [
                    html.Button(id={"type": ids.CONSENT_REVOKE_GRANT, "id": 0}),
                    html.Button(id={"type": ids.CONSENT_REVOKE_VIEW, "id": 0}),
                ],
                id=ids.CONSENT_SECTIONS,
            ),
            form,
            make_hidden_audit_section(),
            make_opt_out_section(None, None),
        ],
        className="page consent-page hidden",
    )
