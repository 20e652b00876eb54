"""The home page lists exactly the sites the viewer may see, with dates in each site's local time."""

from __future__ import annotations

import json

from flask.testing import FlaskClient

from portfolio.web import ids
from portfolio.web.views.sites import NO_DATA
from tests.web.browsing import HTML, log_in, render_page
from tests.web.world import World

ACME_SITES = {"Acme Bakery", "Acme Depot", "Acme Office"}
GLOBEX_SITES = {"Globex Megastore", "Globex Warehouse"}


def _table_rows(client: FlaskClient) -> list[dict[str, str]]:
    """Render ``/sites`` through the Dash Pages router callback and pull the sites table's rows out of it."""
    response = render_page(client, "/sites")
    assert response.status_code == 200
    found: list[list[dict[str, str]]] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if node.get("props", {}).get("id") == ids.SITES_TABLE:
                found.append(node["props"]["rowData"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(response.get_json())
    assert len(found) == 1
    return found[0]


def test_customer_sees_only_their_organisations_sites(customer_client: FlaskClient) -> None:
    rows = _table_rows(customer_client)
    assert {row["name"] for row in rows} == ACME_SITES
    body = json.dumps(render_page(customer_client, "/").get_json())
    assert not any(name in body for name in GLOBEX_SITES) and "Globex" not in body


def test_admin_sees_every_site(client: FlaskClient, world: World) -> None:
    log_in(client, world.admin.email, world.admin.password)
    client.get("/", headers=HTML)
    assert {row["name"] for row in _table_rows(client)} == ACME_SITES | GLOBEX_SITES


def test_rows_show_meters_and_local_reading_dates(customer_client: FlaskClient) -> None:
    rows = {row["name"]: row for row in _table_rows(customer_client)}
    assert rows["Acme Bakery"] == {
        "name": "Acme Bakery",
        "organisation": "Acme Foods",
        "postcode": "CB1 2AB",
        "fuel": "Power",
        "meter_type": "Half-hourly",
        "meter_identifier": "1012345678901",
        "first_reading": "2024-07-01",
        "last_reading": "2024-07-01",
    }
    assert rows["Acme Office"]["first_reading"] == NO_DATA


def test_shell_shows_the_user_and_a_logout_form(customer_client: FlaskClient, world: World) -> None:
    layout = json.dumps(customer_client.get("/_dash-layout").get_json())
    assert world.customer.email in layout and "Customer" in layout
    assert ids.LOGOUT_FORM in layout and '"csrf_token"' in layout
