"""Every registered Dash callback, as every role, with generated hostile payloads (issue 18).

* no call gets a 5xx: malformed input is refused with a 4xx and a message;
* no response to an Acme role carries anything of Globex's (checked by content: names, MPANs, postcodes);
* calls naming Globex's ids change nothing of Globex's (its group, tracker and notification are intact);
* anonymous calls and calls without the CSRF header are refused, every callback alike.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import dash
import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from portfolio.models import Notification, PortfolioGroup, Tracker
from portfolio.web.context import app_state
from portfolio.web.security import CSRF_HEADER
from tests.security.conftest import EXAMPLES, ROLES
from tests.security.payloads import callback_bodies, plain_body
from tests.security.tally import TALLY
from tests.security.tenants import MARKERS, Tenants
from tests.web.browsing import csrf_cookie

CALLBACK_PATH = "/_dash-update-component"


def _callbacks(app: dash.Dash, client: FlaskClient) -> dict[str, dict[str, Any]]:
    client.get("/_dash-dependencies")  # the first request merges the pages' callbacks into the map
    assert app.callback_map, "no callbacks registered"
    return dict(sorted(app.callback_map.items()))


def post(client: FlaskClient, body: Any, *, token: bool = True) -> TestResponse:
    headers = {CSRF_HEADER: csrf_cookie(client)} if token else {}
    data = json.dumps(body, allow_nan=True)
    return TALLY.record(client.post(CALLBACK_PATH, data=data, content_type="application/json", headers=headers))


def assert_no_leak(response: TestResponse, role: str) -> None:
    if role == "admin":
        return  # admins see every organisation
    text = response.get_data(as_text=True)
    leaked = [marker for marker in MARKERS if marker in text]
    assert not leaked, f"{role} received {leaked}: {text[:300]}"


def _rival_state(session: Session) -> tuple[Any, ...]:
    group = session.scalars(select(PortfolioGroup).where(PortfolioGroup.name == "Rival secret group")).one_or_none()
    tracker = session.scalars(select(Tracker).where(Tracker.name == "Rival secret tracker")).one_or_none()
    alert = session.scalars(select(Notification).where(Notification.title == "Rival secret alert")).one_or_none()
    return (
        group and sorted(site.id for site in group.sites),
        tracker and (tracker.is_active, tracker.scope_id),
        alert and alert.read_at,
    )


def attack_callback(client: FlaskClient, key: str, spec: dict[str, Any], ids: tuple[int, ...], role: str) -> None:
    """Run ``EXAMPLES`` generated calls of one callback; any 5xx or leak fails with the call that caused it."""

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    )
    @given(body=callback_bodies(key, spec, ids))
    def attack(body: Any) -> None:
        response = post(client, body)
        assert response.status_code < 500, f"{key}: {response.status_code} {response.get_data(as_text=True)[:300]}"
        assert_no_leak(response, role)

    attack()


@pytest.mark.parametrize("role", ROLES)
def test_every_callback_survives_hostile_inputs_and_leaks_nothing(
    app: dash.Dash, sign_in: Callable[[str], FlaskClient], tenants: Tenants, role: str
) -> None:
    client = sign_in(role)
    ids = tenants.foreign_ids + tenants.own_ids
    with app_state(app.server).session_factory() as session:
        rival_before = _rival_state(session)
    for key, spec in _callbacks(app, client).items():
        attack_callback(client, key, spec, ids, role)
    with app_state(app.server).session_factory() as session:
        assert _rival_state(session) == rival_before  # nothing of Globex's was changed by naming its ids


def test_anonymous_and_csrf_less_callback_calls_are_refused(
    app: dash.Dash, sign_in: Callable[[str], FlaskClient]
) -> None:
    client = sign_in("customer")
    anonymous = app.server.test_client()
    for key, spec in _callbacks(app, client).items():
        body = {
            "output": key,
            "inputs": [{"id": "x", "property": "y", "value": None} for _ in spec["inputs"]],
            "changedPropIds": [],
        }
        no_token = post(client, body, token=False)
        assert no_token.status_code == 400 and "CSRF" in no_token.get_data(as_text=True), key
        forged = TALLY.record(
            client.post(CALLBACK_PATH, json=body, headers={CSRF_HEADER: "forged." + csrf_cookie(client)[7:]})
        )
        assert forged.status_code == 400, key
        refused = TALLY.record(anonymous.post(CALLBACK_PATH, json=body))
        assert refused.status_code == 401, key


def test_the_outside_suites_500s_are_400s_with_a_message(app: dash.Dash, sign_in: Callable[[str], FlaskClient]) -> None:
    """The shapes that used to end in HTTP 500: a string n_clicks, a non-integer pattern id, broken JSON."""
    client = sign_in("customer")
    callbacks = _callbacks(app, client)
    clicks = [k for k, s in callbacks.items() if any(i["property"] == "n_clicks" for i in s["inputs"])]
    patterns = [k for k, s in callbacks.items() if any(i["id"].startswith("{") for i in s["inputs"])]
    assert clicks and patterns
    for key in clicks:
        response = post(client, plain_body(key, callbacks[key], {"n_clicks": "1; DROP TABLE sites"}))
        assert response.status_code == 400, key
        assert "n_clicks must be a non-negative integer" in response.get_json()["message"]
    for key in patterns:
        for wildcard in (1.5, [1], {"id": 1}, None, True):
            response = post(client, plain_body(key, callbacks[key], {}, wildcard=wildcard))
            assert response.status_code == 400, (key, wildcard)
            assert "pattern id" in response.get_json()["message"]
    for payload in ("not json", "[]", '{"output": "nowhere.children", "inputs": []}'):
        response = TALLY.record(
            client.post(
                CALLBACK_PATH, data=payload, content_type="application/json", headers={CSRF_HEADER: csrf_cookie(client)}
            )
        )
        assert response.status_code == 400
        assert response.get_json()["message"]


@pytest.mark.parametrize("search", ["?to=0001-01-05", "?from=0001-01-01", "?group=99999999999", "?to=9999-12-31"])
@pytest.mark.parametrize("path", ["/graphs", "/portfolio", "/export"])
def test_bad_url_state_is_explained_not_a_blank_page(
    app: dash.Dash, sign_in: Callable[[str], FlaskClient], path: str, search: str
) -> None:
    client = sign_in("customer")
    callbacks = _callbacks(app, client)
    routers = [k for k, s in callbacks.items() if [i["id"] for i in s["inputs"]] == ["_pages_location"] * 2]
    assert routers, "the Dash Pages router callback"
    response = post(client, plain_body(routers[0], callbacks[routers[0]], {"pathname": path, "search": search}))
    assert response.status_code in (200, 400), response.get_data(as_text=True)[:300]
    for key, spec in callbacks.items():  # every callback reading the URL survives it too
        if any(i["property"] == "search" for i in spec["inputs"]):
            answer = post(client, plain_body(key, spec, {"pathname": path, "search": search}))
            assert answer.status_code < 500, (key, answer.get_data(as_text=True)[:300])
