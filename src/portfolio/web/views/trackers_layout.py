"""The trackers page's layout: the new-tracker form and the notification settings around the tracker list.

Account managers (read-only) get neither form; the list itself and every callback are in ``web/views/trackers.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dash import dcc, html

from portfolio.services import notifications
from portfolio.services.groups import ALL_SITES
from portfolio.services.trackers import READ_ONLY_MESSAGE

from .. import ids

HIDDEN = "hidden"


def _control(
    label: str, component: Any, control_id: str | None = None, hint: str | None = None, for_id: str | None = None
) -> html.Div:
    heading = (
        html.Label(label, htmlFor=for_id, className="control-label")
        if for_id
        else html.Span(label, className="control-label")
    )
    children = [heading, component] + ([html.P(hint, className="hint")] if hint else [])
    identity: dict[str, Any] = {"id": control_id} if control_id else {}
    return html.Div(children, className="control", **identity)


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
                "You get one message per tracker and period when it is on course to exceed its amount, when it "
                "exceeds it, and a correction if later data shows otherwise.",
                className="muted",
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
    intro = (
        "Your customers' consumption trackers, read-only. " + READ_ONLY_MESSAGE
        if read_only
        else "Set a consumption budget for a group or a site and get told when it is on course to be exceeded "
        "and when it is. Progress counts readings up to yesterday; sites that have not reported are missing, "
        "not zero."
    )
    # Account managers get no form at all (read-only); the callbacks refuse them too.
    editing = [] if read_only else [form, settings]
    hidden_inputs = [html.Div(id=ids.TRACKER_FEEDBACK, className=HIDDEN)] if read_only else []
    return html.Section(
        [
            html.Div([html.H1("Trackers"), html.P(intro, className="muted")], className="page-header"),
            html.Div(id=ids.TRACKER_LIST, className="tracker-list"),
            *editing,
            *([] if not read_only else [html.Div(id=ids.TRACKER_DELIVERIES, className=HIDDEN)]),
            *hidden_inputs,
            dcc.Store(id=ids.TRACKER_REVISION, data=0),
        ],
        className="page trackers-page",
    )
