"""The graph callbacks as public endpoints: a crafted request for another organisation's group or site is refused."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from portfolio.access import viewer_for
from portfolio.db import transaction
from portfolio.models import Site
from portfolio.services.accounts import find_user
from portfolio.services.groups import create_group
from portfolio.web import ids
from portfolio.web.views.graphs import NOT_AVAILABLE
from portfolio.web.views.graphs_layout import WHOLE_PORTFOLIO
from tests.web.browsing import plotted_values
from tests.web.pages.dash_requests import call_callback, response_values
from tests.web.world import World

FIGURE = f"{ids.GRAPH_FIGURE}.figure"
HEATMAP = f"{ids.GRAPH_HEATMAP}.figure"


@pytest.fixture
def setup(world: World, world_session_factory: sessionmaker[Session]) -> dict[str, str]:
    with transaction(world_session_factory) as session:
        site = {s.name: s.id for s in session.scalars(select(Site))}
        admin = viewer_for(session, find_user(session, world.admin.email))  # type: ignore[arg-type]
        customer = viewer_for(session, find_user(session, world.customer.email))  # type: ignore[arg-type]
        foreign = create_group(session, admin, "Globex watch", [site["Globex Megastore"], site["Globex Warehouse"]])
        own = create_group(session, customer, "Bakery", [site["Acme Bakery"]])
        session.flush()
        return {
            "foreign": str(foreign.id),
            "own": str(own.id),
            "bakery": str(site["Acme Bakery"]),
            "megastore": str(site["Globex Megastore"]),
        }


def _values(group: str, site: str = WHOLE_PORTFOLIO, **extra: Any) -> dict[str, Any]:
    return {
        f"{ids.GRAPH_GROUP}.value": group,
        f"{ids.GRAPH_DATES}.start_date": "2024-06-28",
        f"{ids.GRAPH_DATES}.end_date": "2024-07-03",
        f"{ids.GRAPH_FUEL}.value": "power",
        f"{ids.GRAPH_SITE}.value": site,
        f"{ids.GRAPH_GRANULARITY}.value": "auto",
        f"{ids.GRAPH_STACK}.value": "total",
        **extra,
    }


def _graph(client: FlaskClient, values: dict[str, Any], changed: str = f"{ids.GRAPH_GROUP}.value") -> dict[str, Any]:
    return response_values(call_callback(client, FIGURE, values, changed=[changed]))


def _refused(out: dict[str, Any]) -> bool:
    figure = out[ids.GRAPH_FIGURE]["figure"]
    return figure.get("data") == [] and NOT_AVAILABLE in json.dumps(out)


def test_own_portfolio_and_site_are_drawn(customer_client: FlaskClient, setup: dict[str, str]) -> None:
    out = _graph(customer_client, _values("all"))
    names = [trace.get("name") for trace in out[ids.GRAPH_FIGURE]["figure"]["data"]]
    assert "Metered" in names
    site = _graph(customer_client, _values(setup["own"], setup["bakery"]))
    y = [v for v in plotted_values(site[ids.GRAPH_FIGURE]["figure"]["data"][0]["y"]) if v is not None]
    assert y == [1.5, 2.5, 3.5, 4.5]  # the bakery's four half hours, nothing invented around them


def test_another_organisations_group_is_refused(customer_client: FlaskClient, setup: dict[str, str]) -> None:
    assert _refused(_graph(customer_client, _values(setup["foreign"])))
    assert _refused(_graph(customer_client, _values(setup["foreign"], setup["megastore"])))


def test_another_organisations_site_is_refused_even_in_all_sites(
    customer_client: FlaskClient, setup: dict[str, str]
) -> None:
    assert _refused(_graph(customer_client, _values("all", setup["megastore"])))
    assert _refused(_graph(customer_client, _values(setup["own"], setup["megastore"])))
    assert _refused(_graph(customer_client, _values("all", "1 OR 1=1")))


def test_a_crafted_zoom_cannot_reach_other_data(customer_client: FlaskClient, setup: dict[str, str]) -> None:
    relayout = {"xaxis.range[0]": "2024-06-30 20:00", "xaxis.range[1]": "2024-07-01 04:00"}
    out = _graph(
        customer_client,
        _values(setup["foreign"], **{f"{ids.GRAPH_ZOOM}.data": relayout}),
        changed=f"{ids.GRAPH_ZOOM}.data",
    )
    assert _refused(out)
    zoomed = _graph(
        customer_client,
        _values("all", setup["bakery"], **{f"{ids.GRAPH_ZOOM}.data": relayout}),
        changed=f"{ids.GRAPH_ZOOM}.data",
    )
    figure = zoomed[ids.GRAPH_FIGURE]["figure"]
    assert figure["layout"]["meta"]["resolution"] == "hh" and len(figure["data"][0]["x"]) == 16


def test_heat_map_refuses_foreign_sites(customer_client: FlaskClient, setup: dict[str, str]) -> None:
    values = _values("all", setup["megastore"])
    out = response_values(call_callback(customer_client, HEATMAP, values, changed=[f"{ids.GRAPH_SITE}.value"]))
    assert out[ids.GRAPH_HEATMAP]["figure"]["data"] == []
    own = response_values(
        call_callback(customer_client, HEATMAP, _values("all", setup["bakery"]), changed=[f"{ids.GRAPH_SITE}.value"])
    )
    assert own[ids.GRAPH_HEATMAP]["figure"]["data"][0]["type"] == "heatmap"


def test_a_crafted_zoom_over_centuries_is_clamped(customer_client: FlaskClient, setup: dict[str, str]) -> None:
    relayout = {"xaxis.range[0]": "1900-01-01", "xaxis.range[1]": "2400-01-01"}
    out = _graph(
        customer_client,
        _values("all", **{f"{ids.GRAPH_ZOOM}.data": relayout}),
        changed=f"{ids.GRAPH_ZOOM}.data",
    )
    assert len(out[ids.GRAPH_FIGURE]["figure"]["data"][0]["x"]) <= 731


def test_a_los_angeles_sites_zoom_fetches_the_window_on_its_own_axis(
    customer_client: FlaskClient, setup: dict[str, str], world_session_factory: sessionmaker[Session]
) -> None:
    with transaction(world_session_factory) as session:
        bakery = session.get(Site, int(setup["bakery"]))
        assert bakery is not None
        bakery.time_zone = "America/Los_Angeles"
    # 16:00-18:00 PDT on 30 June is 23:00-01:00 UTC: three of the bakery's half hours (23:30, 00:00, 00:30 UTC).
    relayout = {"xaxis.range[0]": "2024-06-30 16:00:00", "xaxis.range[1]": "2024-06-30 18:00:00"}
    zoomed = _graph(
        customer_client,
        _values("all", setup["bakery"], **{f"{ids.GRAPH_ZOOM}.data": relayout}),
        changed=f"{ids.GRAPH_ZOOM}.data",
    )
    figure = zoomed[ids.GRAPH_FIGURE]["figure"]
    assert [v for v in plotted_values(figure["data"][0]["y"]) if v is not None] == [1.5, 2.5, 3.5]
    assert [value[:16] for value in figure["layout"]["xaxis"]["range"]] == ["2024-06-30 16:00", "2024-06-30 18:00"]
