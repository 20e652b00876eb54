"""The trackers page's pieces: no form for account managers, the percent amount in words, the warning line."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd

from portfolio.services.notifications import Channels
from portfolio.services.tracker_status import TrackerStatus
from portfolio.web import ids
from portfolio.web.views.trackers import make_tracker_card
from portfolio.web.views.trackers_layout import make_tracker_layout


def _ids(component: Any) -> set[str]:
    found = set()
    if isinstance(getattr(component, "id", None), str):
        found.add(component.id)
    children = getattr(component, "children", None)
    for child in children if isinstance(children, list) else [children] if children is not None else []:
        found |= _ids(child)
    return found


def _text(component: Any) -> str:
    if isinstance(component, str):
        return component
    children = getattr(component, "children", None)
    if children is None:
        return ""
    return "".join(_text(c) for c in (children if isinstance(children, list) else [children]))


def test_account_managers_get_no_form() -> None:
    read_only = _ids(make_tracker_layout([], [], True, Channels()))
    assert ids.TRACKER_LIST in read_only and ids.TRACKER_CREATE not in read_only and ids.TRACKER_NAME not in read_only
    assert ids.TRACKER_CREATE in _ids(make_tracker_layout([], [], False, Channels()))


def _status(**fields: Any) -> TrackerStatus:
    base: dict[str, Any] = dict(
        tracker_id=3,
        name="Offices",
        scope_label="All sites",
        fuel="power",
        period="month",
        period_label="December 2026",
        period_start=dt.date(2026, 12, 1),
        period_end=dt.date(2026, 12, 31),
        data_day=dt.date(2026, 12, 10),
        target_kind="percent",
        target_value=10.0,
        target_kwh=3_410.0,
        target_to_date_kwh=1_100.0,
        expected_period_kwh=3_100.0,
        consumption_kwh=1_105.0,
        progress=1_105.0 / 3_410.0,
        projection_kwh=3_300.0,
        projection_lower_kwh=3_100.0,
        projection_upper_kwh=3_500.0,
        projection_method="model",
        sites_total=3,
        sites_reporting_period=3,
        sites_reporting_day=3,
    )
    base.update(fields)
    return TrackerStatus(**base)


def test_the_percent_amount_is_for_the_whole_period_and_the_part_to_date_is_said() -> None:
    text = _text(make_tracker_card(_status(), alerted=False, can_edit=False, ledger=pd.DataFrame()))
    assert "Amount: 3,410 kWh for the whole period (the expected 3,100 kWh above by 10 %)" in text
    assert "Up to Thu 10 Dec: 1,105 kWh used, against 1,100 kWh allowed for those days" in text
    assert "(32 % of the whole period's amount)" in text
    assert "90 % range 3,100-3,500 kWh" in text
    assert ids.TRACKER_DELETE not in str(make_tracker_card(_status(), False, False))


def test_a_warning_is_shown_on_the_card() -> None:
    status = _status(
        target_kind="kwh", target_value=3_000.0, target_kwh=3_000.0, state="warning", crossing_day=dt.date(2026, 12, 28)
    )
    text = _text(make_tracker_card(status, alerted=False, can_edit=True))
    assert (
        "On course to exceed 3,000 kWh by about Monday 28 Dec (projection 3,300 kWh, 90 % range 3,100-3,500 kWh)"
        in text
    )
