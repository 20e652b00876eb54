"""The admin Sites and Aggregates pages, called as a browser would: admins act, everyone else is refused."""

from __future__ import annotations

import json

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from portfolio.ingest.loader import refresh_daily_usage
from portfolio.models import AuditEntry, Organisation, Site
from portfolio.web import ids
from tests.web.browsing import HTML, log_in
from tests.web.pages.dash_requests import call_callback, response_values
from tests.web.world import World

MOVE = f"{ids.ADMIN_SITE_RESULT}.children"
RELEASE = f"{ids.AGGREGATES_RESULT}.children"


def _ids(factory: sessionmaker[Session]) -> tuple[int, int]:
    with factory() as session:
        store = session.scalars(select(Site.id).where(Site.name == "Globex Megastore")).one()
        acme = session.scalars(select(Organisation.id).where(Organisation.account_number == "ACME-001")).one()
    return store, acme


def _move(client: FlaskClient, site: object, organisation: object, confirm: object) -> object:
    values = {
        f"{ids.ADMIN_SITE_MOVE}.n_clicks": 1,
        f"{ids.ADMIN_SITE}.value": site,
        f"{ids.ADMIN_SITE_ORG}.value": organisation,
        f"{ids.ADMIN_SITE_CONFIRM}.value": confirm,
    }
    return call_callback(client, MOVE, values, [f"{ids.ADMIN_SITE_MOVE}.n_clicks"])


def test_an_admin_sees_every_site_and_moves_one(
    client: FlaskClient, world: World, world_session_factory: sessionmaker[Session]
) -> None:
    log_in(client, world.admin.email, world.admin.password)
    page = client.get("/admin/sites", headers=HTML)
    assert page.status_code == 200
    store, acme = _ids(world_session_factory)
    refused = response_values(_move(client, store, acme, "Globex"))
    assert "type the site&#x27;s name" in json.dumps(
        refused[ids.ADMIN_SITE_RESULT]
    ) or "type the site's name" in json.dumps(refused[ids.ADMIN_SITE_RESULT])
    moved = response_values(_move(client, store, acme, "Globex Megastore"))
    assert "Moved Globex Megastore from Globex Retail to Acme Foods" in json.dumps(moved[ids.ADMIN_SITE_RESULT])
    rows = moved[ids.ADMIN_SITES_TABLE]["rowData"]
    assert {r["site"]: r["organisation"] for r in rows}["Globex Megastore"] == "Acme Foods"  # type: ignore[index]
    with world_session_factory() as session:
        assert session.get(Site, store).organisation_id == acme  # type: ignore[union-attr]
        assert len(session.scalars(select(AuditEntry).where(AuditEntry.action == "site_moved")).all()) == 2
    bad = _move(client, "not an id", acme, "x")
    assert bad.status_code == 400 and "site must be a positive integer id" in bad.get_json()["message"]


def test_an_admin_releases_aggregates_and_sees_refusals(
    client: FlaskClient, world: World, world_session_factory: sessionmaker[Session]
) -> None:
    with world_session_factory() as session:  # the small world stores readings only: roll them up
        for site in session.scalars(select(Site)):
            refresh_daily_usage(session, site.id, site.time_zone, 0, 2_000_000_000)
        session.commit()
    log_in(client, world.admin.email, world.admin.password)
    assert client.get("/admin/aggregates", headers=HTML).status_code == 200
    values = {
        f"{ids.AGGREGATES_RUN}.n_clicks": 1,
        f"{ids.AGGREGATES_BY}.value": "region",
        f"{ids.AGGREGATES_PERIOD}.value": "month",
        f"{ids.AGGREGATES_FROM}.value": "2024-01-01",
        f"{ids.AGGREGATES_TO}.value": "2024-12-31",
    }
    out = response_values(call_callback(client, RELEASE, values, [f"{ids.AGGREGATES_RUN}.n_clicks"]))
    shown = json.dumps(out[ids.AGGREGATES_RESULT])
    assert "released" in shown and "fewer than 15 customers (n=1)" in shown
    csv_text = out[ids.AGGREGATES_FILE]["data"]["content"]  # type: ignore[index]
    assert csv_text.startswith("period,region,fuel,customers,energy_kwh,suppressed_reason")
    assert ",,fewer than 15 customers (n=1)" in csv_text  # the kWh of a refused cell is withheld
    backwards = {**values, f"{ids.AGGREGATES_FROM}.value": "2025-01-01"}
    out = response_values(call_callback(client, RELEASE, backwards, [f"{ids.AGGREGATES_RUN}.n_clicks"]))
    assert "ends before it starts" in json.dumps(out[ids.AGGREGATES_RESULT])
    bad = call_callback(
        client, RELEASE, {**values, f"{ids.AGGREGATES_BY}.value": "county"}, [f"{ids.AGGREGATES_RUN}.n_clicks"]
    )
    assert bad.status_code == 400


def test_customers_are_refused_everything(
    customer_client: FlaskClient, world_session_factory: sessionmaker[Session]
) -> None:
    for path in ("/admin/sites", "/admin/aggregates"):
        page = customer_client.get(path, headers=HTML)
        assert page.status_code == 200
    store, acme = _ids(world_session_factory)
    out = response_values(_move(customer_client, store, acme, "Globex Megastore"))
    assert "administrators only" in json.dumps(out[ids.ADMIN_SITE_RESULT])
    values = {
        f"{ids.AGGREGATES_RUN}.n_clicks": 1,
        f"{ids.AGGREGATES_BY}.value": "region",
        f"{ids.AGGREGATES_PERIOD}.value": "month",
        f"{ids.AGGREGATES_FROM}.value": "2024-01-01",
        f"{ids.AGGREGATES_TO}.value": "2024-12-31",
    }
    out = response_values(call_callback(customer_client, RELEASE, values, [f"{ids.AGGREGATES_RUN}.n_clicks"]))
    assert "administrators only" in json.dumps(out[ids.AGGREGATES_RESULT]) and ids.AGGREGATES_FILE not in out
    with world_session_factory() as session:
        assert session.get(Site, store).organisation_id != acme  # type: ignore[union-attr]
