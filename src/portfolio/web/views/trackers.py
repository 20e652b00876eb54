"""The trackers page: create a consumption tracker, watch its progress, choose notification channels.

Kept out of ``pages/`` so tests can import it; the form and settings are laid out in
``web/views/trackers_layout.py``, the tracker cards and callbacks are here. :func:`register_callbacks` binds
the callbacks per app (called from the shell). Every callback works as the signed-in user and goes through :mod:`portfolio.services.trackers`,
which re-checks access; account managers see their customers' trackers read-only, with no form.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
from dash import ALL, Dash, Input, NoUpdate, Output, State, ctx, dcc, html, no_update
from dash.development.base_component import Component
from sqlalchemy.orm import Session

from portfolio.access import AccessDenied, Viewer
from portfolio.analytics.trackers import PERIOD_LABELS
from portfolio.figures.trackers import make_tracker_ledger_figure
from portfolio.queries import notifications as notification_queries
from portfolio.services import notifications
from portfolio.services.groups import GroupError
from portfolio.services.tracker_messages import amount_text, to_date_text, warning_sentence
from portfolio.services.trackers import (
    TrackerError,
    TrackerStatus,
    list_tracker_cards,
    remove_tracker,
    submit_tracker,
)
from portfolio.timekeeping import local_today

from .. import ids
from ..components import aria
from ..context import current_viewer, request_session
from ..inputs import as_choices
from .trackers_layout import HIDDEN

METHOD_LABELS = {
    "model": "from the forecast models",
    "run-rate": "run-rate: average so far continued (no forecast model)",
    "model + run-rate": "forecast models, run-rate for sites without one",
    "complete": "the period is complete",
    "none": "not enough data",
}


def _kwh(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f} kWh"


def _delete_button(tracker_id: int) -> html.Button:
    return html.Button(
        "Delete",
        id={"type": ids.TRACKER_DELETE, "id": tracker_id},
        className="button button-danger",
        title="Delete this tracker",
    )


def _figures_line(status: TrackerStatus, share: float, over: bool) -> html.P:
    """What has been used against the amount; in percent mode the amount for the whole period and the part
    for the days so far, said in words."""
    if status.target_kind == "percent":
        parts: list[Any] = [
            "Amount: ",
            html.Strong(amount_text(status)),
            ". ",
        ]
        to_date = to_date_text(status)
        parts += [to_date + ". " if to_date else "", "Used so far: ", html.Strong(_kwh(status.consumption_kwh))]
        parts.append(
            html.Span(f" ({share * 100:.0f} % of the whole period's amount)", className="over-text" if over else "")
        )
        return html.P(parts, className="tracker-figures")
    return html.P(
        [
            html.Strong(_kwh(status.consumption_kwh)),
            f" of {amount_text(status)} used so far ",
            html.Span(f"({share * 100:.0f} %)", className="over-text" if over else ""),
        ],
        className="tracker-figures",
    )


def make_tracker_card(
    status: TrackerStatus,
    alerted: bool,
    can_edit: bool,
    ledger: pd.DataFrame | None = None,
    owner_email: str | None = None,
) -> html.Article:
    """One tracker: what it covers, a progress bar of consumption so far against the amount, the projection
    with its 90 % range, and the ledger of the period as a small chart."""
    subtitle = f"{status.scope_label} · {status.fuel} · {PERIOD_LABELS[status.period]}"
    header = html.Div(
        [
            html.Div(
                [
                    html.H3(status.name),
                    html.P(subtitle + (f" · {owner_email}" if owner_email else ""), className="muted"),
                ]
            ),
            *([_delete_button(status.tracker_id)] if can_edit else []),
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
        **aria(
            valuenow=f"{share * 100:.0f}",
            valuemin="0",
            valuemax="100",
            label=f"{status.name}: {share * 100:.0f} % of the amount used",
        ),
    )
    band = (
        f", 90 % range {status.projection_lower_kwh:,.0f}-{status.projection_upper_kwh:,.0f} kWh"
        if status.projection_lower_kwh is not None and status.projection_upper_kwh is not None and not status.complete
        else ""
    )
    projection = html.P(
        [
            f"Projected by {status.period_end:%a %-d %b}: ",
            html.Strong(_kwh(status.projection_kwh)),
            f"{band} ({METHOD_LABELS.get(status.projection_method, status.projection_method)})",
        ],
        className="tracker-projection",
    )
    lines: list[Component] = [
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
    elif status.state == "warning":
        lines.insert(0, html.P("On c" + warning_sentence(status)[4:], className="over-text"))
    lines += [html.P(f"Note: {note}", className="hint") for note in status.notes]
    if ledger is not None and len(ledger):
        lines.append(
            dcc.Graph(
                id={"type": ids.TRACKER_LEDGER, "id": status.tracker_id},
                figure=make_tracker_ledger_figure(ledger, status.period_start, status.period_end),
                config={"displayModeBar": False},
                className="tracker-ledger",
            )
        )
    lines.append(dcc.Link("View the graph of this period", href=status.graph_path, className="tracker-link"))
    return html.Article(
        [header, bar, _figures_line(status, share, over), projection, *lines],
        className="card tracker-card over" if over else "card tracker-card",
        id=f"tracker-{status.tracker_id}",
    )


def load_tracker_cards(session: Session, viewer: Viewer, today: dt.date) -> list[Any]:
    cards = list_tracker_cards(session, viewer, today)
    if not cards:
        note = "Your customers have no trackers yet." if viewer.read_only else "No trackers yet: create one below."
        return [html.P(note, className="muted empty-note")]
    shown: list[Any] = []
    for card in cards:
        if card.status is None:
            shown.append(
                html.Article(
                    [
                        html.H3(card.name),
                        html.P(card.problem, className="alert", role="alert"),
                        *([_delete_button(card.tracker_id)] if card.can_edit else []),
                    ],
                    className="card tracker-card",
                )
            )
            continue
        shown.append(make_tracker_card(card.status, card.alerted, card.can_edit, card.ledger, card.owner_email))
    return shown


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


def save_channels(clicks: int | None, chosen: list[str] | None) -> str | NoUpdate:
    if not clicks:
        return no_update
    chosen = as_choices(chosen, ("email", "in_app"), "channels")
    session, viewer = request_session(), current_viewer()
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
