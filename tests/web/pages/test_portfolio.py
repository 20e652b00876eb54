"""The portfolio list through its real callbacks: rows, coverage, per-fuel totals, missing sites, refusals."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from portfolio.access import viewer_for
from portfolio.analytics.coverage import compute_day_lengths_seconds
from portfolio.db import transaction
from portfolio.models import DailyUsage, Site
from portfolio.services.accounts import find_user
from portfolio.services.groups import create_group
from portfolio.timekeeping import local_today
from portfolio.web import ids
from portfolio.web.url_state import default_range
from portfolio.web.views.portfolio import NOT_AVAILABLE, missing_summary
from tests.web.browsing import pages_router_body
from tests.web.pages.dash_requests import call_callback, response_values
from tests.web.world import World

TABLE = f"{ids.PORTFOLIO_TABLE}.rowData"
GLOBEX_SITES = ("Globex Megastore", "Globex Warehouse")


@pytest.fixture
def groups(world: World, world_session_factory: sessionmaker[Session]) -> dict[str, str]:
    """Daily roll-ups for the last 30 days (bakery every half hour, depot every other day, office none),
    the customer's mixed and power-only groups, and a group of the admin's over Globex sites."""
    start, end = default_range(local_today())
    with transaction(world_session_factory) as session:
        site = {s.name: s.id for s in session.scalars(select(Site))}
        day_seconds = compute_day_lengths_seconds(start, end, "Europe/London")  # 46/50 half hours on clock changes
        for number, (day, seconds) in enumerate(day_seconds.items()):
            halves = int(seconds) // 1800
            session.add(
                DailyUsage(
                    site_id=site["Acme Bakery"],
                    local_date=day,
                    energy_kwh=24.0,
                    intervals=halves,
                    estimated_intervals=0,
                    interval_seconds=1800,
                )
            )
            if number % 2 == 0:
                session.add(
                    DailyUsage(
                        site_id=site["Acme Depot"],
                        local_date=day,
                        energy_kwh=100.0,
                        intervals=halves,
                        estimated_intervals=0,
                        interval_seconds=1800,
                    )
                )
        customer = viewer_for(session, find_user(session, world.customer.email))  # type: ignore[arg-type]
        admin = viewer_for(session, find_user(session, world.admin.email))  # type: ignore[arg-type]
        acme = [site["Acme Bakery"], site["Acme Depot"], site["Acme Office"]]
        mixed = create_group(session, customer, "Everything", acme)
        power = create_group(session, customer, "Electric", [site["Acme Bakery"], site["Acme Office"]])
        foreign = create_group(session, admin, "Globex watch", [site[name] for name in GLOBEX_SITES])
        session.flush()
        return {"mixed": str(mixed.id), "power": str(power.id), "foreign": str(foreign.id)}


def _list(
    client: FlaskClient, group: str, fuel: str = "both", start: str | None = None, end: str | None = None, **extra: Any
) -> dict[str, dict[str, Any]]:
    first, last = default_range(local_today())
    values = {
        f"{ids.PORTFOLIO_GROUP}.value": group,
        f"{ids.PORTFOLIO_FUEL}.value": fuel,
        f"{ids.PORTFOLIO_DATES}.start_date": start or first.isoformat(),
        f"{ids.PORTFOLIO_DATES}.end_date": end or last.isoformat(),
        f"{ids.PORTFOLIO_URL_CHECK}.data": {"given": True, "error": None},
        **extra,
    }
    return response_values(call_callback(client, TABLE, values, changed=[f"{ids.PORTFOLIO_GROUP}.value"]))


def test_list_has_one_row_per_site_with_coverage_and_local_last_reading(
    customer_client: FlaskClient, groups: dict[str, str]
) -> None:
    out = _list(customer_client, groups["mixed"])
    rows = {row["name"]: row for row in out[ids.PORTFOLIO_TABLE]["rowData"]}
    assert set(rows) == {"Acme Bakery", "Acme Depot", "Acme Office"}
    assert rows["Acme Bakery"]["coverage"] == pytest.approx(1.0)
    assert rows["Acme Bakery"]["energy_kwh"] == pytest.approx(24.0 * 30)
    assert rows["Acme Bakery"]["share"] == pytest.approx(1.0)  # the only power site with data: shares are per fuel
    assert rows["Acme Depot"]["coverage"] == pytest.approx(0.5, abs=0.04)  # partial coverage is shown, never filled
    assert rows["Acme Depot"]["interval"] == "HH" and rows["Acme Depot"]["fuel"] == "Gas"
    assert rows["Acme Office"]["energy_kwh"] is None and rows["Acme Office"]["last_reading"] == "never"
    assert rows["Acme Bakery"]["last_reading"] == "2024-07-01"  # 23:30 UTC on 30 June is 1 July in London


def test_missing_sites_are_counted_and_listed(customer_client: FlaskClient, groups: dict[str, str]) -> None:
    out = _list(customer_client, groups["mixed"])
    assert out[ids.PORTFOLIO_MISSING_SUMMARY]["children"] == "1 of 3 sites has no data in this range"
    assert [row["name"] for row in out[ids.PORTFOLIO_MISSING_TABLE]["rowData"]] == ["Acme Office"]
    assert out[ids.PORTFOLIO_MISSING_TABLE]["rowData"][0]["last_reading"] == "never"
    assert "hidden" not in out[ids.PORTFOLIO_MISSING_BUTTON]["className"]


def test_mixed_group_totals_each_fuel_and_shows_the_toggle(
    customer_client: FlaskClient, groups: dict[str, str]
) -> None:
    out = _list(customer_client, groups["mixed"])
    assert "hidden" not in out[ids.PORTFOLIO_FUEL_TOGGLE]["className"]
    cards = json.dumps(out[ids.PORTFOLIO_TOTALS]["children"])
    assert "Gas total" in cards and "Power total" in cards and "1,500 kWh" in cards and "720 kWh" in cards
    assert "2,220" not in cards  # gas and power are never added up
    gas = _list(customer_client, groups["mixed"], fuel="gas")
    assert [row["name"] for row in gas[ids.PORTFOLIO_TABLE]["rowData"]] == ["Acme Depot"]
    assert "Power total" not in json.dumps(gas[ids.PORTFOLIO_TOTALS]["children"])
    assert gas[ids.PORTFOLIO_QUERY]["data"].endswith("&fuel=gas")
    assert gas[ids.PORTFOLIO_STATE]["data"]["group"] == groups["mixed"]


def test_single_fuel_group_has_no_toggle_and_ignores_a_fuel_filter(
    customer_client: FlaskClient, groups: dict[str, str]
) -> None:
    out = _list(customer_client, groups["power"], fuel="gas")
    assert "hidden" in out[ids.PORTFOLIO_FUEL_TOGGLE]["className"]
    assert {row["name"] for row in out[ids.PORTFOLIO_TABLE]["rowData"]} == {"Acme Bakery", "Acme Office"}
    assert out[ids.PORTFOLIO_QUERY]["data"].endswith("&fuel=both")


def test_all_sites_is_every_visible_site(customer_client: FlaskClient, groups: dict[str, str]) -> None:
    out = _list(customer_client, "all")
    assert {row["name"] for row in out[ids.PORTFOLIO_TABLE]["rowData"]} == {"Acme Bakery", "Acme Depot", "Acme Office"}


def test_another_users_group_is_not_available_and_leaks_nothing(
    customer_client: FlaskClient, groups: dict[str, str]
) -> None:
    response = call_callback(
        customer_client,
        TABLE,
        {
            f"{ids.PORTFOLIO_GROUP}.value": groups["foreign"],
            f"{ids.PORTFOLIO_FUEL}.value": "both",
            f"{ids.PORTFOLIO_DATES}.start_date": "2026-01-01",
            f"{ids.PORTFOLIO_DATES}.end_date": "2026-01-31",
        },
        changed=[f"{ids.PORTFOLIO_GROUP}.value"],
    )
    body = response.get_data(as_text=True)
    assert NOT_AVAILABLE in body
    assert not any(name in body for name in GLOBEX_SITES) and "Globex" not in body
    assert response_values(response)[ids.PORTFOLIO_TABLE]["rowData"] == []


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"start": "junk"}, "'from' must be a date"),
        ({"start": "2026-03-01", "end": "2026-02-01"}, "before it starts"),
        ({"start": "2022-01-01", "end": "2025-12-31"}, "at most 731 days"),
        ({"fuel": "coal"}, "'fuel' must be one of"),
        ({"group": "12; DROP TABLE sites"}, "'group' must be a group number"),
        ({"group": "999999"}, "not available"),
    ],
)
def test_bad_inputs_get_a_message_naming_the_problem(
    customer_client: FlaskClient, groups: dict[str, str], changes: dict[str, str], named: str
) -> None:
    group = changes.pop("group", groups["mixed"])
    out = _list(customer_client, group, **changes)
    message = json.dumps(out[ids.PORTFOLIO_MESSAGE]["children"])
    assert named in message
    assert out[ids.PORTFOLIO_TABLE]["rowData"] == [] and "hidden" in out[ids.PORTFOLIO_BODY]["className"]


def _url_check(client: FlaskClient, search: str) -> dict[str, Any]:
    """Render /portfolio with a query string through the Pages router; return the page's URL check."""
    body = pages_router_body(client, "/portfolio")
    body["inputs"][1]["value"] = search
    layout = client.post(
        "/_dash-update-component", json=body, headers={"X-CSRFToken": client.get_cookie("_csrf_token").value}
    )  # type: ignore[union-attr]
    found: list[dict[str, Any]] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if node.get("props", {}).get("id") == ids.PORTFOLIO_URL_CHECK:
                found.append(node["props"]["data"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(layout.get_json())
    assert len(found) == 1
    return found[0]


def _first_call(client: FlaskClient, check: dict[str, Any], stored: object = None) -> dict[str, dict[str, Any]]:
    """What the browser sends when the page appears: the laid-out values, every input marked as changed."""
    initial = check["initial"]
    values = {
        f"{ids.PORTFOLIO_GROUP}.value": initial["group"],
        f"{ids.PORTFOLIO_FUEL}.value": initial["fuel"],
        f"{ids.PORTFOLIO_DATES}.start_date": initial["from"],
        f"{ids.PORTFOLIO_DATES}.end_date": initial["to"],
        f"{ids.PORTFOLIO_URL_CHECK}.data": check,
        f"{ids.PORTFOLIO_STATE}.data": stored,
    }
    changed = [key for key in values if not key.endswith(".data")]
    return response_values(call_callback(client, TABLE, values, changed=changed))


def test_a_bad_link_shows_the_problem_on_first_load(customer_client: FlaskClient, groups: dict[str, str]) -> None:
    check = _url_check(customer_client, "?group=all&from=2026-13-01&fuel=power")
    assert check["given"] and "'from' must be a date" in check["error"]
    first = _first_call(customer_client, check)
    assert "This link cannot be shown" in json.dumps(first[ids.PORTFOLIO_MESSAGE]["children"])
    assert first[ids.PORTFOLIO_TABLE]["rowData"] == [] and "hidden" in first[ids.PORTFOLIO_BODY]["className"]
    later = _list(customer_client, "all", fuel="gas", **{f"{ids.PORTFOLIO_URL_CHECK}.data": check})
    assert "hidden" not in later[ids.PORTFOLIO_BODY]["className"]  # a change of control is honoured


def test_a_good_link_sets_the_controls(customer_client: FlaskClient, groups: dict[str, str]) -> None:
    check = _url_check(customer_client, f"?group={groups['mixed']}&from=2026-10-01&to=2026-10-31&fuel=gas")
    assert check["given"] and check["error"] is None
    assert check["initial"] == {"group": groups["mixed"], "from": "2026-10-01", "to": "2026-10-31", "fuel": "gas"}
    first = _first_call(customer_client, check)
    assert [row["name"] for row in first[ids.PORTFOLIO_TABLE]["rowData"]] == ["Acme Depot"]


def test_opening_without_parameters_restores_the_tabs_last_state(
    customer_client: FlaskClient, groups: dict[str, str]
) -> None:
    check = _url_check(customer_client, "")
    assert check["given"] is False
    stored = {**check["initial"], "group": groups["mixed"], "fuel": "gas"}
    out = _first_call(customer_client, check, stored)
    assert out[ids.PORTFOLIO_GROUP]["value"] == groups["mixed"] and out[ids.PORTFOLIO_FUEL]["value"] == "gas"
    assert [row["name"] for row in out[ids.PORTFOLIO_TABLE]["rowData"]] == ["Acme Depot"]
    junk = _first_call(customer_client, check, {"group": "abc"})  # a tampered store is ignored
    assert ids.PORTFOLIO_GROUP not in junk and len(junk[ids.PORTFOLIO_TABLE]["rowData"]) == 3


def test_missing_summary_wording() -> None:
    assert missing_summary(3, 40) == "3 of 40 sites have no data in this range"
    assert missing_summary(0, 40) == "All 40 sites have data in this range."
    assert missing_summary(0, 0) == "This group has no sites yet."
