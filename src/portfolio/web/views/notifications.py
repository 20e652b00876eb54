"""The notification bell in the shell's top bar: unread count, the latest notifications, mark as read.

Every callback acts on the signed-in user's own notifications only (the user id comes from the request,
never from the browser). The count refreshes on navigation, every minute, and after marking.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from dash import ALL, Dash, Input, NoUpdate, Output, State, ctx, dcc, html, no_update
from dash.development.base_component import Component

from portfolio.queries import notifications as notification_queries
from portfolio.services import notifications

from .. import ids
from ..components import aria, uk_time_text
from ..context import current_viewer, request_session

REFRESH_MS = 60_000
LIST_LENGTH = 15


def make_bell() -> html.Div:
    """The bell button with its unread badge and a (hidden) panel the callbacks fill."""
    return html.Div(
        [
            html.Button(
                [
                    html.Img(src="/assets/bell.svg", alt="", className="bell-icon"),
                    html.Span(id=ids.BELL_COUNT, className="bell-count hidden"),
                ],
                id=ids.BELL_BUTTON,
                className="bell-button",
                title="Notifications",
                **aria(label="Notifications", haspopup="true"),
            ),
            html.Div(
                [
                    html.Div(
                        [
                            html.Strong("Notifications"),
                            html.Button("Mark all read", id=ids.BELL_MARK_ALL, className="link-button"),
                        ],
                        className="bell-panel-header",
                    ),
                    html.Ul(id=ids.BELL_LIST, className="bell-list"),
                ],
                id=ids.BELL_PANEL,
                className="bell-panel hidden",
                role="region",
                **aria(label="Notifications"),
            ),
            dcc.Store(id=ids.BELL_REVISION, data=0),
            dcc.Interval(id=ids.BELL_INTERVAL, interval=REFRESH_MS),
        ],
        id=ids.BELL,
        className="bell",
    )


def _when(value: dt.datetime) -> str:
    """Stored UTC (naive on SQLite) shown in UK time."""
    return uk_time_text(value, "%-d %b %H:%M")


def _item(notification: Any) -> html.Li:
    unread = notification.read_at is None
    title = (
        dcc.Link(notification.title, href=notification.link, className="bell-item-title")
        if notification.link
        else html.Span(notification.title, className="bell-item-title")
    )
    actions: list[Component] = [html.Span(_when(notification.created_at), className="bell-item-time")]
    if unread:
        actions.append(
            html.Button("Mark read", id={"type": ids.BELL_MARK, "id": notification.id}, className="link-button")
        )
    return html.Li(
        [
            title,
            html.P(notification.body, className="bell-item-body"),
            html.Div(actions, className="bell-item-actions"),
        ],
        className="bell-item unread" if unread else "bell-item",
    )


def update_bell(_pathname: object, _tick: object, _revision: object) -> tuple[Any, ...]:
    """Unread count and the latest notifications of the signed-in user."""
    session, viewer = request_session(), current_viewer()
    unread = notification_queries.count_unread(session, viewer.user_id)
    items = [_item(n) for n in notification_queries.load_notifications(session, viewer.user_id, LIST_LENGTH)]
    if not items:
        items = [html.Li("No notifications yet.", className="bell-empty")]
    label = f"Notifications ({unread} unread)" if unread else "Notifications"
    return (str(unread) if unread < 100 else "99+"), ("bell-count" if unread else "bell-count hidden"), items, label


def toggle_panel(clicks: int | None, class_name: str | None) -> str | NoUpdate:
    if not clicks:
        return no_update
    return "bell-panel" if "hidden" in (class_name or "") else "bell-panel hidden"


def mark_notifications(_one: list[int | None], all_clicks: int | None, revision: int | None) -> int | NoUpdate:
    """Mark one notification (or all) of the signed-in user read; other users' ids change nothing."""
    trigger = ctx.triggered_id
    if trigger is None or not (ctx.triggered and ctx.triggered[0].get("value")):
        return no_update
    session, viewer = request_session(), current_viewer()
    now = dt.datetime.now(dt.UTC)
    notifications.mark_read(
        session, viewer.user_id, None if trigger == ids.BELL_MARK_ALL else [int(trigger["id"])], now
    )
    return int(revision or 0) + 1


def register_callbacks(app: Dash) -> None:
    app.callback(
        Output(ids.BELL_COUNT, "children"),
        Output(ids.BELL_COUNT, "className"),
        Output(ids.BELL_LIST, "children"),
        Output(ids.BELL_BUTTON, "title"),
        Input(ids.PAGE_LOCATION, "pathname"),
        Input(ids.BELL_INTERVAL, "n_intervals"),
        Input(ids.BELL_REVISION, "data"),
    )(update_bell)
    app.callback(
        Output(ids.BELL_PANEL, "className"),
        Input(ids.BELL_BUTTON, "n_clicks"),
        State(ids.BELL_PANEL, "className"),
        prevent_initial_call=True,
    )(toggle_panel)
    app.callback(
        Output(ids.BELL_REVISION, "data"),
        Input({"type": ids.BELL_MARK, "id": ALL}, "n_clicks"),
        Input(ids.BELL_MARK_ALL, "n_clicks"),
        State(ids.BELL_REVISION, "data"),
        prevent_initial_call=True,
    )(mark_notifications)
