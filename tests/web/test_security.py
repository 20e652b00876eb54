"""Anonymous refusal, CSRF, redirects and headers, checked server-side with the Flask test client."""

from __future__ import annotations

from collections.abc import Callable

import dash
import pytest
from flask.testing import FlaskClient

from portfolio.config import Settings
from portfolio.web.app import create_app
from portfolio.web.context import app_state
from portfolio.web.security import CSRF_COOKIE, CSRF_HEADER, safe_next
from tests.web.browsing import HTML, csrf_cookie, form_token, log_in, pages_router_body, render_page
from tests.web.world import World


@pytest.mark.parametrize(
    "path",
    [
        "/_dash-layout",
        "/_dash-dependencies",
        "/_reload-hash",
        "/_favicon.ico",
        "/_dash-component-suites/dash/dcc/dash_core_components.js",
        "/",
        "/sites/12",
    ],
)
def test_anonymous_json_requests_get_401(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 401
    assert response.get_json()["error"] == "authentication required"


def test_anonymous_callback_post_gets_401(client: FlaskClient) -> None:
    response = client.post("/_dash-update-component", json={"output": "x.children", "inputs": []})
    assert response.status_code == 401


@pytest.mark.parametrize("path", ["/", "/sites?org=2"])
def test_anonymous_page_load_redirects_to_login(client: FlaskClient, path: str) -> None:
    response = client.get(path, headers=HTML)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")
    follow = client.get(response.headers["Location"])
    assert follow.status_code == 200
    assert 'name="csrf_token"' in follow.get_data(as_text=True)


def test_public_endpoints_answer_anonymous_requests(client: FlaskClient) -> None:
    assert client.get("/healthz").get_json() == {"status": "ok"}
    assert client.get("/login").status_code == 200
    for asset in ("/assets/portfolio.css", "/assets/csrf.js", "/assets/favicon.svg"):
        with client.get(asset) as response:
            assert response.status_code == 200


@pytest.mark.parametrize(
    "value, expected",
    [
        ("/", "/"),
        ("/sites?org=2", "/sites?org=2"),
        (None, "/"),
        ("", "/"),
        ("https://evil.example/", "/"),
        ("//evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
        ("sites", "/"),
        ("/\tevil", "/"),
    ],
)
def test_safe_next_keeps_only_local_paths(value: str | None, expected: str) -> None:
    assert safe_next(value) == expected


def test_login_ignores_an_offsite_next(client: FlaskClient, world: World) -> None:
    response = log_in(client, world.customer.email, world.customer.password, next_path="//evil.example/")
    assert response.headers["Location"] == "/"


def test_login_form_without_token_is_refused(client: FlaskClient, world: World) -> None:
    response = client.post("/login", data={"email": world.customer.email, "password": world.customer.password})
    assert response.status_code == 400
    assert "expired" in response.get_data(as_text=True)
    assert client.get("/_dash-layout").status_code == 401


def test_signed_in_callback_with_the_header_works(customer_client: FlaskClient) -> None:
    assert render_page(customer_client, "/").status_code == 200


def test_callback_without_the_header_is_refused(customer_client: FlaskClient) -> None:
    response = render_page(customer_client, "/", with_token=False)
    assert response.status_code == 400
    assert response.get_json()["error"] == "CSRF token missing or invalid"


def test_callback_with_a_forged_header_is_refused(customer_client: FlaskClient) -> None:
    body = pages_router_body(customer_client, "/")
    response = customer_client.post("/_dash-update-component", json=body, headers={CSRF_HEADER: "forged"})
    assert response.status_code == 400


@pytest.mark.parametrize("path", ["/_dash-update-component", "/logout"])
def test_cross_site_form_posts_are_refused(customer_client: FlaskClient, path: str) -> None:
    """What another site's auto-submitting form or a no-CORS fetch could send along with the cookies."""
    form = customer_client.post(path, data={"output": "x.children"}, headers={"Origin": "https://evil.example"})
    text = customer_client.post(
        path, data='{"output": "x.children"}', content_type="text/plain", headers={"Origin": "https://evil.example"}
    )
    for response in (form, text):
        assert response.status_code in (400, 403)
        assert response.get_json()["error"] == "CSRF token missing or invalid"
    assert customer_client.get("/_dash-layout").status_code == 200  # still signed in: logout was refused


def test_token_from_another_session_is_refused(
    make_app: Callable[[], dash.Dash], customer_client: FlaskClient, world: World
) -> None:
    stolen = csrf_cookie(customer_client)
    other = make_app().server.test_client()
    log_in(other, world.admin.email, world.admin.password)
    other.get("/", headers=HTML)
    response = other.post("/_dash-update-component", json=pages_router_body(other, "/"), headers={CSRF_HEADER: stolen})
    assert response.status_code == 400


def test_security_headers_on_pages(customer_client: FlaskClient) -> None:
    response = customer_client.get("/", headers=HTML)
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Cache-Control"] == "no-store"
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "'unsafe-eval'" not in policy and "script-src 'self' 'sha256-" in policy
    assert response.headers["Cross-Origin-Opener-Policy"] == "same-origin"
    assert "camera=()" in response.headers["Permissions-Policy"]
    assert "Strict-Transport-Security" not in response.headers  # plain HTTP (cookie_secure off): no HSTS


def test_login_page_has_security_headers(client: FlaskClient) -> None:
    response = client.get("/login")
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]


def test_cookies_are_secure_by_default(settings: Settings, world: World) -> None:
    app = create_app(settings.__class__(**{**settings.__dict__, "cookie_secure": True}))
    try:
        client = app.server.test_client()
        token = form_token(client)
        response = client.post(
            "/login",
            base_url="https://localhost",
            headers={"Referer": "https://localhost/login"},
            data={"email": world.customer.email, "password": world.customer.password, "csrf_token": token},
        )
        session_cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("portfolio_session="))
        assert "Secure" in session_cookie and "HttpOnly" in session_cookie and "SameSite=Lax" in session_cookie
        page = client.get("/", base_url="https://localhost", headers=HTML)
        csrf = next(c for c in page.headers.getlist("Set-Cookie") if c.startswith(f"{CSRF_COOKIE}="))
        assert "Secure" in csrf and "SameSite=Strict" in csrf and "HttpOnly" not in csrf
        assert page.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    finally:
        app_state(app.server).engine.dispose()
