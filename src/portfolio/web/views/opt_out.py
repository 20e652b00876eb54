"""The Data sharing page's "Half-hourly data" section: a micro-business opts out (or back in) with one button.

Shown to the organisation's own people when it is a micro-business on the customer list; for everyone else the
section is empty and hidden (its ids stay, so Dash can validate the callback). The callback re-checks access in
the service and says why the organisation's data is daily only.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from dash import Dash, Input, Output, ctx, html, no_update
from sqlalchemy.orm import Session

from portfolio.access import AccessDenied, Viewer
from portfolio.services import opt_out
from portfolio.web.context import current_viewer, request_session, signed_in_user
from portfolio.web.inputs import as_count

OPT_OUT_SECTION = "opt-out-section"
OPT_OUT_BODY = "opt-out-body"
OPT_OUT_BUTTON = "opt-out-button"
OPT_IN_BUTTON = "opt-in-button"
OPT_OUT_MESSAGE = "opt-out-message"


def _when(value: dt.datetime | None) -> str:
    return f"{value:%d %b %Y %H:%M} UTC" if value else "—"


def make_opt_out_body(state: opt_out.OptOutState | None, read_only: bool) -> list[Any]:
    """The section's text and its one button (hidden ones keep the callback's ids present)."""
    hidden_out = state is None or state.opted_out or read_only
    hidden_in = state is None or not state.opted_out or read_only
    text: list[Any] = []
    if state is not None and state.opted_out:
        text = [
            html.P(opt_out.WHY_DAILY_ONLY, id="opt-out-why", className="notice"),
            html.P(f"Opted out on {_when(state.opted_out_at)}. Opting back in keeps half-hourly data from then on."),
        ]
    elif state is not None:
        deadline = (
            f"You may opt out until {_when(state.deadline)}; opting out by then also removes the half-hourly "
            "readings already collected. "
            if state.deadline
            else ""
        )
        text = [
            html.P(
                "As a micro-business you may opt out of half-hourly data: we then keep and show only daily totals for "
                f"your sites. {deadline}You can opt back in at any time."
            )
        ]
    return [
        *text,
        html.Button(
            "Opt out of half-hourly data",
            id=OPT_OUT_BUTTON,
            className="button button-danger" + (" hidden" if hidden_out else ""),
        ),
        html.Button(
            "Opt back in to half-hourly data",
            id=OPT_IN_BUTTON,
            className="button" + (" hidden" if hidden_in else ""),
        ),
    ]


def make_opt_out_section(session: Session | None, viewer: Viewer | None) -> html.Section:
    state = opt_out.opt_out_state(session, viewer) if session is not None and viewer is not None else None
    applies = state is not None and state.micro_business
    return html.Section(
        [
            html.H2("Half-hourly data"),
            html.P(id=OPT_OUT_MESSAGE, role="status", className="message"),
            html.Div(make_opt_out_body(state if applies else None, bool(viewer and viewer.read_only)), id=OPT_OUT_BODY),
        ],
        id=OPT_OUT_SECTION,
        className="consent-section" + ("" if applies else " hidden"),
    )


def update_opt_out(out_clicks: int | None, in_clicks: int | None) -> tuple[Any, Any]:
    """Opt out or back in, then show the section as it now stands."""
    out_clicks, in_clicks = as_count(out_clicks), as_count(in_clicks)
    trigger = ctx.triggered_id
    if signed_in_user() is None or trigger not in (OPT_OUT_BUTTON, OPT_IN_BUTTON) or not (out_clicks or in_clicks):
        return no_update, no_update
    session, viewer = request_session(), current_viewer()
    now = dt.datetime.now(dt.UTC)
    try:
        result = opt_out.update_opt_out(session, viewer, trigger == OPT_OUT_BUTTON, now=now)
    except (AccessDenied, opt_out.OptOutError) as error:
        return no_update, str(error)
    if trigger == OPT_OUT_BUTTON:
        removed = f" {result.readings_removed:,} half-hourly readings were removed." if result.readings_removed else ""
        message = "Opted out: only daily totals are kept and shown." + removed
    else:
        message = "Opted back in: half-hourly data is kept and shown from now on."
    return make_opt_out_body(opt_out.opt_out_state(session, viewer), viewer.read_only), message


def register_callbacks(app: Dash) -> None:
    app.callback(
        Output(OPT_OUT_BODY, "children"),
        Output(OPT_OUT_MESSAGE, "children"),
        Input(OPT_OUT_BUTTON, "n_clicks"),
        Input(OPT_IN_BUTTON, "n_clicks"),
        prevent_initial_call=True,
    )(update_opt_out)
