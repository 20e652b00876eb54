"""Every HTTP route, as every role and anonymously, with generated paths, query strings and forms (issue 18).

No 5xx; nothing of Globex's in a response to an Acme role (exports naming Globex's sites and groups included);
every route but the public ones refuses anonymous callers; every POST without a CSRF token is refused.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import urlencode

import dash
import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.routing import Rule
from werkzeug.test import TestResponse

from tests.security.conftest import EXAMPLES, ROLES
from tests.security.payloads import HOSTILE_TEXT, PLAUSIBLE_TEXT
from tests.security.tally import TALLY
from tests.security.tenants import MARKERS, Tenants
from tests.web.browsing import HTML, csrf_cookie

PUBLIC = {"/login", "/healthz", "/account/set-password", "/account/forgot-password", "/account/renew-invitation"}
# OAuth client endpoints authenticate the client (RFC 6749 s2.3, RFC 7009), not a browser session, so they are
# exempt from CSRF; without client credentials they refuse with 400 (invalid_request) or 401 (invalid_client).
OAUTH_CLIENT_ENDPOINTS = {"/oauth/token", "/oauth/revoke"}
EXPORT_KEYS = ("group", "site", "from", "to", "shape", "format", "fuel")
_PARAM = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


def _routes(app: dash.Dash) -> list[Rule]:
    return sorted(app.server.url_map.iter_rules(), key=lambda rule: rule.rule)


def _texts(ids: tuple[int, ...]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from([str(i) for i in ids]),
        st.sampled_from(PLAUSIBLE_TEXT),
        st.sampled_from(HOSTILE_TEXT),
        st.text(max_size=30),
    )


@st.composite
def requests_for(draw: st.DrawFn, rule: Rule, ids: tuple[int, ...]) -> tuple[str, str, dict[str, str]]:
    """(method, url, form) for ``rule``: its path parameters filled, a query string of known and junk keys."""
    path = _PARAM.sub(lambda _: draw(st.sampled_from(["x", "1", "..%2f..%2fetc", "graphs", "a" * 300])), rule.rule)
    keys = st.sampled_from(EXPORT_KEYS + ("next", "email", "id", "x"))
    query = draw(st.lists(st.tuples(keys, _texts(ids)), max_size=6))
    methods = sorted((rule.methods or {"GET"}) - {"OPTIONS"})
    method = draw(st.sampled_from(methods))
    form = dict(draw(st.lists(st.tuples(st.sampled_from(["email", "password", "next"]), _texts(ids)), max_size=3)))
    encoded = urlencode(query, errors="surrogatepass") if query else ""
    return method, path + ("?" + encoded if encoded else ""), form


def _send(client: FlaskClient, method: str, url: str, form: dict[str, str], token: str | None) -> TestResponse:
    if method == "POST":
        data = {**form, **({"csrf_token": token} if token else {})}
        return TALLY.record(client.post(url, data=data, headers=HTML))
    return TALLY.record(client.open(url, method=method, headers=HTML))


def assert_no_leak(response: TestResponse, role: str) -> None:
    if role != "admin":
        leaked = [m for m in MARKERS if m.encode() in response.data]
        assert not leaked, f"{role} got Globex data {leaked}: {response.data[:300]!r}"


def attack_route(client: FlaskClient, token: str, rule: Rule, ids: tuple[int, ...], role: str) -> None:
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(request=requests_for(rule, ids))
    def attack(request: tuple[str, str, dict[str, str]]) -> None:
        method, url, form = request
        response = _send(client, method, url, form, token)
        assert response.status_code < 500, f"{rule.rule}: {method} {url} -> {response.status_code}"
        assert_no_leak(response, role)

    attack()


@pytest.mark.parametrize("role", ROLES)
def test_every_route_survives_hostile_requests(
    app: dash.Dash, sign_in: Callable[[str], FlaskClient], tenants: Tenants, role: str
) -> None:
    ids = tenants.foreign_ids + tenants.own_ids
    client = sign_in(role)
    for rule in _routes(app):
        if rule.rule in ("/logout", "/logout/everywhere"):
            continue  # signing out is covered below; here it would end the client's session mid-walk
        attack_route(client, csrf_cookie(client), rule, ids, role)


@pytest.mark.parametrize("role", ["customer", "broker", "account_manager"])
@pytest.mark.parametrize("fmt", ["csv", "xlsx", "espi"])
def test_exports_naming_other_tenants_ids_return_nothing_of_theirs(
    sign_in: Callable[[str], FlaskClient], tenants: Tenants, role: str, fmt: str
) -> None:
    client = sign_in(role)
    for key, foreign_ids in (("site", tenants.foreign_sites), ("group", tenants.foreign_groups)):
        for foreign in foreign_ids:
            query = {key: foreign, "from": "2024-01-01", "to": "2024-12-31", "format": fmt, "shape": "interval"}
            response = TALLY.record(client.get("/export/download?" + urlencode(query)))
            assert response.status_code == 403, (key, foreign, response.status_code, response.data[:200])
            assert_no_leak(response, role)
    mixed = {"site": [tenants.own_ids[0], tenants.foreign_sites[0]], "from": "2024-01-01", "to": "2024-12-31"}
    response = TALLY.record(client.get("/export/download?" + urlencode({**mixed, "format": fmt}, doseq=True)))
    assert response.status_code in (400, 403)  # one refused site refuses the whole export
    assert_no_leak(response, role)


def test_anonymous_callers_are_refused_everywhere_but_the_public_routes(app: dash.Dash) -> None:
    anonymous = app.server.test_client()
    for rule in _routes(app):
        if rule.rule in PUBLIC or rule.rule.startswith("/assets/"):
            continue
        url = _PARAM.sub("x", rule.rule)
        for method in sorted((rule.methods or set()) - {"OPTIONS", "HEAD"}):
            for headers in ({}, HTML):
                response = TALLY.record(anonymous.open(url, method=method, headers=headers))
                assert response.status_code in (302, 400, 401), (rule.rule, method, response.status_code)
                if response.status_code == 302:
                    assert response.headers["Location"].startswith("/login")


def test_posts_without_a_csrf_token_are_refused(app: dash.Dash, sign_in: Callable[[str], FlaskClient]) -> None:
    client = sign_in("customer")
    for rule in _routes(app):
        if "POST" in (rule.methods or set()):
            url = _PARAM.sub("x", rule.rule)
            response = TALLY.record(client.post(url, data={"email": "x"}, headers=HTML))
            expected = (400, 401) if rule.rule in OAUTH_CLIENT_ENDPOINTS else (400,)
            assert response.status_code in expected, (rule.rule, response.status_code)
    assert TALLY.record(client.get("/_dash-layout")).status_code == 200  # still signed in: logout was refused too
