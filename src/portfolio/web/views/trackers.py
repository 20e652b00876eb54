"""The trackers page: create a consumption tracker, watch its progress, choose notification channels.

Kept out of ``pages/`` so tests can import it; :func:`register_callbacks` binds the callbacks per app (called
from the shell). Every callback works as the signed-in user and goes through :mod:`portfolio.services.trackers`,
which re-checks access; account managers are refused with a message (read-only access).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from dash import ALL, Dash, Input, Output, State, ctx, dcc, html, no_update
from sqlalchemy.orm import Session

from portfolio.access import AccessDenied, Viewer
from portfolio.analytics.trackers import PERIOD_LABELS
from portfolio.queries import notifications as notification_queries
from portfolio.queries import trackers as tracker_queries
from portfolio.services import notifications
from portfolio.services.groups import ALL_SITES, GroupError
from portfolio.services.tracker_messages import amount_text
from portfolio.services.trackers import (
    READ_ONLY_MESSAGE,
    TrackerError,
    TrackerStatus,
    compute_status,
    data_day_for,
    remove_tracker,
    submit_tracker,
)
from portfolio.timekeeping import local_today

from .. import ids
from ..context import current_viewer, request_session

HIDDEN = "hidden"
METHOD_LABELS = {
    "model": "from the forecast models",
    "run-rate": "run-rate: average so far continued (no forecast model)",
    "model + run-rate": "forecast models, run-rate for sites without one",
    "complete": "the period is complete",
    "none": "not enough data",
}


def _control(
    label: str, component: Any, control_id: str | None = None, hint: str | None = None, for_id: str | None = None
) -> html.Div:
    heading = (
        html.Label(label, htmlFor=for_id, className="control-label")
        if for_id
        else html.Span(label, className="control-label")
    )
    children = [heading, component] + ([html.P(hint, className="hint")] if hint else [])
    return html.Div(children, className="control", **({"id": control_id} if control_id else {}))


def _segmented(component_id: str, options: dict[str, str], value: str) -> dcc.RadioItems:
    return dcc.RadioItems(
        id=component_id,
        value=value,
        inline=True,
        className="segmented",
        options=[{"label": label, "value": key} for key, label in options.items()],
    )


def make_tracker_layout(
    group_options: Sequence[tuple[str, str, bool]],
    sites: list[dict[str, Any]],
    read_only: bool,
    channels: notifications.Channels,
) -> html.Section:
    """The page: the new-tracker form, the list of trackers (filled by a callback) and notification settings."""
    groups = [{"label": label, "value": value} for value, label, _ in group_options if value != ALL_SITES]
    form = html.Div(
        [
            html.H2("New tracker"),
            html.Div(html.P(READ_ONLY_MESSAGE, className="alert", role="alert"), className="" if read_only else HIDDEN),
            html.Div(
                [
                    _control(
                        "Name",
                        dcc.Input(
                            id=ids.TRACKER_NAME,
                            type="text",
                            maxLength=100,
                            placeholder="e.g. Weekly power, offices",
                            className="text-input",
                            disabled=read_only,
                        ),
                        for_id=ids.TRACKER_NAME,
                    ),
                    _control(
                        "Covers",
                        _segmented(
                            ids.TRACKER_SCOPE,
                            {"all": "All sites", "group": "Portfolio group", "site": "Single site"},
                            "all",
                        ),
                    ),
                    _control(
                        "Group",
                        dcc.Dropdown(
                            id=ids.TRACKER_GROUP,
                            options=groups,
                            value=groups[0]["value"] if groups else None,
                            clearable=False,
                            placeholder="No groups yet",
                            className="group-dropdown",
                        ),
                        ids.TRACKER_GROUP_CONTROL,
                    ),
                    _control(
                        "Site",
                        dcc.Dropdown(
                            id=ids.TRACKER_SITE,
                            options=sites,
                            clearable=False,
                            placeholder="Search by name or MPAN/MPRN",
                            className="site-dropdown",
                        ),
                        ids.TRACKER_SITE_CONTROL,
                    ),
                    _control(
                        "Fuel",
                        _segmented(ids.TRACKER_FUEL, {"power": "Power", "gas": "Gas"}, "power"),
                        hint="Gas and power are tracked separately, never added",
                    ),
                    _control(
                        "Period",
                        _segmented(ids.TRACKER_PERIOD, {"day": "Day", "week": "Week", "month": "Month"}, "week"),
                        hint="Local (UK) calendar periods; weeks start on Monday",
                    ),
                    _control(
                        "Amount",
                        _segmented(ids.TRACKER_TARGET_KIND, {"kwh": "kWh", "percent": "% above expected"}, "kwh"),
                    ),
                    _control(
                        "",
                        html.Div(
                            [
                                dcc.Input(
                                    id=ids.TRACKER_TARGET_VALUE,
                                    type="number",
                                    min=0,
                                    step="any",
                                    placeholder="e.g. 5000",
                                    className="number-input",
                                    disabled=read_only,
                                ),
                                html.Span("kWh", id=ids.TRACKER_TARGET_UNIT, className="unit"),
                            ],
                            className="amount-row",
                        ),
                    ),
                ],
                className="controls tracker-form-controls",
            ),
            html.Div(
                [
                    html.Button(
                        "Create tracker", id=ids.TRACKER_CREATE, className="button button-primary", disabled=read_only
                    ),
                    html.Div(id=ids.TRACKER_FEEDBACK, role="status"),
                ],
                className="tracker-actions",
            ),
        ],
        className="card tracker-form",
    )
    settings = html.Div(
        [
            html.H2("Notification settings"),
            html.P(
                "When a tracker goes over its amount you get one message per tracker and period.", className="muted"
            ),
            dcc.Checklist(
                id=ids.TRACKER_CHANNELS,
                className="channel-list",
                options=[{"label": " Email", "value": "email"}, {"label": " In the app (the bell)", "value": "in_app"}],
                value=[k for k, on in (("email", channels.email), ("in_app", channels.in_app)) if on],
            ),
            html.Div(
                [
                    html.Button("Save settings", id=ids.TRACKER_CHANNELS_SAVE, className="button button-secondary"),
                    html.Span(id=ids.TRACKER_CHANNELS_FEEDBACK, role="status", className="muted"),
                ],
                className="tracker-actions",
            ),
            html.Div(id=ids.TRACKER_DELIVERIES),
        ],
        className="card tracker-settings",
    )
    return html.Section(
        [
            html.Div(
                [
                    html.H1("Trackers"),
                    html.P(
                        "Set a consumption budget for a group or a site and get told when it is exceeded. "
                        "Progress counts readings up to yesterday; sites that have not reported are missing, "
                        "not zero.",
                        className="muted",
                    ),
                ],
                className="page-header",
            ),
            html.Div(id=ids.TRACKER_LIST, className="tracker-list"),
            form,
            settings,
            dcc.Store(id=ids.TRACKER_REVISION, data=0),
        ],
        className="page trackers-page",
    )


def _kwh(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f} kWh"


def make_tracker_card(status: TrackerStatus, alerted: bool, can_edit: bool) -> html.Article:
    """One tracker: what it covers, a progress bar of consumption so far against the amount, the projection."""
    header = html.Div(
        [
            html.Div(
                [
                    html.H3(status.name),
                    html.P(f"{status.scope_label} · {status.fuel} · {PERIOD_LABELS[status.period]}", className="muted"),
                ]
            ),
            html.Button(
                "Delete",
                id={"type": ids.TRACKER_DELETE, "id": status.tracker_id},
                className="button button-danger",
                disabled=not can_edit,
                title="Delete this tracker",
            ),
        ],
        className="tracker-card-header",
    )
    if status.error:
        return html.Article(
            [header, html.P(status.error, className="alert", role="alert")], className="card tracker-card"
        )
    share = status.progress or 0.0
    over = status.exceeded
    bar = html.Div(
        html.Div(
            className="progress-fill over" if over else "progress-fill",
            style={"width": f"{min(share, 1.0) * 100:.1f}%"},
        ),
        className="progress",
        role="progressbar",
        **{
            "aria-valuenow": f"{share * 100:.0f}",
            "aria-valuemin": "0",
            "aria-valuemax": "100",
            "aria-label": f"{status.name}: {share * 100:.0f} % of the amount used",
        },
    )
    figures = html.P(
        [
            html.Strong(_kwh(status.consumption_kwh)),
            f" of {amount_text(status)} used so far ",
            html.Span(f"({share * 100:.0f} %)", className="over-text" if over else ""),
        ],
        className="tracker-figures",
    )
    projection = html.P(
        [
            f"Projected by {status.period_end:%a %-d %b}: ",
            html.Strong(_kwh(status.projection_kwh)),
            f" ({METHOD_LABELS.get(status.projection_method, status.projection_method)})",
        ],
        className="tracker-projection",
    )
    lines = [
        html.P(
            f"{status.period_label} · data up to {status.data_day:%a %-d %b} · {status.reporting_text}",
            className="muted small",
        )
    ]
    if over:
        lines.insert(
            0,
            html.P(
                f"Over the amount by {_kwh(status.excess_kwh)} ({status.excess_pct:.1f} %)"
                + (" · you were notified" if alerted else " · notification pending the next daily run"),
                className="over-text",
            ),
        )
    lines += [html.P(f"Note: {note}", className="hint") for note in status.notes]
    lines.append(dcc.Link("View the graph of this period", href=status.graph_path, className="tracker-link"))
    return html.Article(
        [header, bar, figures, projection, *lines], className="card tracker-card over" if over else "card tracker-card"
    )


def load_tracker_cards(session: Session, viewer: Viewer, today: dt.date) -> list[Any]:
    trackers = tracker_queries.load_user_trackers(session, viewer.user_id)
    if not trackers:
        return [html.P("No trackers yet: create one below.", className="muted empty-note")]
    data_day = data_day_for(today)
    alerted = {
        (a.tracker_id, a.period_start)
        for a in tracker_queries.load_alerts(session, [t.id for t in trackers])
        if a.kind == "exceeded"
    }
    cards = []
    for tracker in trackers:
        try:
            status = compute_status(session, tracker, viewer, data_day)
        except AccessDenied:
            cards.append(
                html.Article(
                    [
                        html.H3(tracker.name),
                        html.P(
                            "You no longer have access to the group or site this tracker covers: it is skipped. Delete it or ask "
                            "for access again.",
                            className="alert",
                            role="alert",
                        ),
                        html.Button(
                            "Delete",
                            id={"type": ids.TRACKER_DELETE, "id": tracker.id},
                            className="button button-danger",
                        ),
                    ],
                    className="card tracker-card",
                )
            )
            continue
        cards.append(make_tracker_card(status, (tracker.id, status.period_start) in alerted, not viewer.read_only))
    return cards


def update_tracker_list(_revision: object) -> tuple[list[Any], Any]:
    session, viewer = request_session(), current_viewer()
    deliveries = notification_queries.load_user_deliveries(session, viewer.user_id)
    problems = None
    if deliveries:
        problems = html.Div(
            [
                html.H3("Emails not delivered yet"),
                html.Ul(
                    [html.Li(f"{d.subject} — {d.status}, {d.attempts} attempt(s): {d.last_error}") for d in deliveries],
                    className="delivery-list",
                ),
            ],
            className="deliveries",
        )
    return load_tracker_cards(session, viewer, local_today()), problems


def update_form(scope: str | None, kind: str | None) -> tuple[str, str, str]:
    visible = {True: "control", False: f"control {HIDDEN}"}
    return visible[scope == "group"], visible[scope == "site"], "% above expected" if kind == "percent" else "kWh"


def create_tracker_from_form(
    clicks: int | None,
    name: object,
    scope: object,
    group: object,
    site: object,
    fuel: object,
    period: object,
    kind: object,
    value: object,
    revision: int | None,
) -> tuple[Any, Any]:
    if not clicks:
        return no_update, no_update
    session, viewer = request_session(), current_viewer()
    scope_id = group if scope == "group" else site if scope == "site" else None
    try:
        tracker = submit_tracker(
            session,
            viewer,
            name=name,
            scope_kind=scope,
            scope_id=scope_id,
            fuel=fuel,
            period=period,
            target_kind=kind,
            target_value=value if value is not None else "",
        )
    except (TrackerError, AccessDenied, GroupError) as error:
        message = str(error)
        return html.P(
            message[0].upper() + message[1:] + ("" if message.endswith(".") else "."), className="alert", role="alert"
        ), no_update
    return html.P(f"Tracker “{tracker.name}” created.", className="success"), int(revision or 0) + 1


def delete_tracker_clicked(_clicks: list[int | None], revision: int | None) -> tuple[Any, Any]:
    trigger = ctx.triggered_id
    if trigger is None or not (ctx.triggered and ctx.triggered[0].get("value")):
        return no_update, no_update
    session, viewer = request_session(), current_viewer()
    try:
        remove_tracker(session, viewer, trigger["id"])
    except AccessDenied as error:
        return html.P(str(error), className="alert", role="alert"), no_update
    return html.P("Tracker deleted.", className="success"), int(revision or 0) + 1


def save_channels(clicks: int | None, chosen: list[str] | None) -> str:
    if not clicks:
        return no_update
    session, viewer = request_session(), current_viewer()
    chosen = chosen or []
    channels = notifications.update_channels(
        session, viewer.user_id, email="email" in chosen, in_app="in_app" in chosen
    )
    if not (channels.email or channels.in_app):
        return "Saved: you will get no tracker notifications (progress stays visible here)."
    return (
        "Saved: "
        + " and ".join(n for n, on in (("email", channels.email), ("in the app", channels.in_app)) if on)
        + "."
    )


def register_callbacks(app: Dash) -> None:
    app.callback(
        Output(ids.TRACKER_LIST, "children"),
        Output(ids.TRACKER_DELIVERIES, "children"),
        Input(ids.TRACKER_REVISION, "data"),
    )(update_tracker_list)
    app.callback(
        Output(ids.TRACKER_GROUP_CONTROL, "className"),
        Output(ids.TRACKER_SITE_CONTROL, "className"),
        Output(ids.TRACKER_TARGET_UNIT, "children"),
        Input(ids.TRACKER_SCOPE, "value"),
        Input(ids.TRACKER_TARGET_KIND, "value"),
    )(update_form)
    app.callback(
        Output(ids.TRACKER_FEEDBACK, "children"),
        Output(ids.TRACKER_REVISION, "data"),
        Input(ids.TRACKER_CREATE, "n_clicks"),
        State(ids.TRACKER_NAME, "value"),
        State(ids.TRACKER_SCOPE, "value"),
        State(ids.TRACKER_GROUP, "value"),
        State(ids.TRACKER_SITE, "value"),
        State(ids.TRACKER_FUEL, "value"),
        State(ids.TRACKER_PERIOD, "value"),
        State(ids.TRACKER_TARGET_KIND, "value"),
        State(ids.TRACKER_TARGET_VALUE, "value"),
        State(ids.TRACKER_REVISION, "data"),
        prevent_initial_call=True,
    )(create_tracker_from_form)
    app.callback(
        Output(ids.TRACKER_FEEDBACK, "children", allow_duplicate=True),
        Output(ids.TRACKER_REVISION, "data", allow_duplicate=True),
        Input({"type": ids.TRACKER_DELETE, "id": ALL}, "n_clicks"),
        State(ids.TRACKER_REVISION, "data"),
        prevent_initial_call=True,
    )(delete_tracker_clicked)
    app.callback(
        Output(ids.TRACKER_CHANNELS_FEEDBACK, "children"),
        Input(ids.TRACKER_CHANNELS_SAVE, "n_clicks"),
        State(ids.TRACKER_CHANNELS, "value"),
        prevent_initial_call=True,
    )(save_channels)
