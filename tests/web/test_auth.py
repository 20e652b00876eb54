"""Sign in and out: renewed sessions, generic errors, inactive users, and the shared rate limit."""

from __future__ import annotations

from collections.abc import Callable

import dash
from flask.testing import FlaskClient
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from portfolio.models import AuditEntry, LoginAttempt, User
from portfolio.web.auth import WRONG_CREDENTIALS
from portfolio.web.security import CSRF_COOKIE
from tests.web.browsing import HTML, form_token, log_in
from tests.web.conftest import MAX_FAILURES
from tests.web.world import World

SESSION_COOKIE = "portfolio_session"


def _session_cookie(client: FlaskClient) -> str | None:
    cookie = client.get_cookie(SESSION_COOKIE)
    return None if cookie is None else cookie.value


def test_login_redirects_to_next_and_shows_home(client: FlaskClient, world: World) -> None:
    response = log_in(client, world.customer.email, world.customer.password, next_path="/")
    assert response.status_code == 303
    assert response.headers["Location"] == "/"
    assert client.get("/", headers=HTML).status_code == 200
    assert client.get("/_dash-layout").status_code == 200


def test_login_accepts_email_in_any_case(client: FlaskClient, world: World) -> None:
    assert log_in(client, "  BUYER@Acme.Example ", world.customer.password).status_code == 303


def test_login_renews_the_session(client: FlaskClient, world: World) -> None:
    form_token(client)
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
    before = _session_cookie(client)
    log_in(client, world.customer.email, world.customer.password)
    assert _session_cookie(client) not in (None, before)
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session.permanent


def test_csrf_token_changes_at_login(client: FlaskClient, world: World) -> None:
    before = form_token(client)
    log_in(client, world.customer.email, world.customer.password)
    client.get("/", headers=HTML)
    with client.session_transaction() as session:
        assert session.get("csrf_token") is not None
    assert client.get_cookie(CSRF_COOKIE).value != before


def test_wrong_password_and_unknown_email_get_the_same_message(client: FlaskClient, world: World) -> None:
    wrong_password = log_in(client, world.customer.email, "not the password")
    unknown_email = log_in(client, "nobody@acme.example", world.customer.password)
    for response in (wrong_password, unknown_email):
        assert response.status_code == 401
        assert WRONG_CREDENTIALS in response.get_data(as_text=True)
    assert client.get("/_dash-layout").status_code == 401


def test_inactive_user_cannot_log_in(
    client: FlaskClient, world: World, world_session_factory: sessionmaker[Session]
) -> None:
    with world_session_factory.begin() as session:
        session.execute(update(User).where(User.email == world.customer.email).values(is_active=False))
    response = log_in(client, world.customer.email, world.customer.password)
    assert response.status_code == 401
    assert WRONG_CREDENTIALS in response.get_data(as_text=True)


def test_deactivating_a_user_ends_their_session(
    customer_client: FlaskClient, world: World, world_session_factory: sessionmaker[Session]
) -> None:
    assert customer_client.get("/_dash-layout").status_code == 200
    with world_session_factory.begin() as session:
        session.execute(update(User).where(User.email == world.customer.email).values(is_active=False))
    assert customer_client.get("/_dash-layout").status_code == 401


def test_logout_ends_the_session(customer_client: FlaskClient) -> None:
    token = customer_client.get_cookie(CSRF_COOKIE).value
    response = customer_client.post("/logout", data={"csrf_token": token})
    assert response.status_code == 303
    assert response.headers["Location"] == "/login"
    assert customer_client.get_cookie(CSRF_COOKIE) is None
    assert customer_client.get("/_dash-layout").status_code == 401


def test_failures_delay_the_pair_even_with_the_right_password(client: FlaskClient, world: World) -> None:
    for _ in range(MAX_FAILURES):
        assert log_in(client, world.customer.email, "not the password").status_code == 401
    blocked = log_in(client, world.customer.email, world.customer.password)
    assert blocked.status_code == 429
    assert "Too many failed sign-in attempts" in blocked.get_data(as_text=True)
    assert client.get("/_dash-layout").status_code == 401


def test_the_limit_is_shared_between_workers(make_app: Callable[[], dash.Dash], world: World) -> None:
    first_worker, second_worker = make_app().server.test_client(), make_app().server.test_client()
    for _ in range(MAX_FAILURES):
        log_in(first_worker, world.customer.email, "not the password")
    assert log_in(second_worker, world.customer.email, world.customer.password).status_code == 429
    assert log_in(first_worker, world.customer.email, world.customer.password).status_code == 429


def test_the_block_lifts_when_the_window_passes(
    client: FlaskClient, world: World, world_session_factory: sessionmaker[Session]
) -> None:
    for _ in range(MAX_FAILURES):
        log_in(client, world.customer.email, "not the password")
    with world_session_factory.begin() as session:
        session.execute(update(LoginAttempt).values(at_ts=LoginAttempt.at_ts - 901))
    assert log_in(client, world.customer.email, world.customer.password).status_code == 303


def test_attempts_are_recorded_with_success_flags(
    client: FlaskClient, world: World, world_session_factory: sessionmaker[Session]
) -> None:
    log_in(client, world.customer.email, "not the password")
    log_in(client, world.customer.email, world.customer.password)
    with world_session_factory() as session:
        attempts = session.query(LoginAttempt).order_by(LoginAttempt.id).all()
    assert [(a.email, a.success, a.ip) for a in attempts] == [
        (world.customer.email, False, "127.0.0.1"),
        (world.customer.email, True, "127.0.0.1"),
    ]


def test_behind_a_trusted_proxy_the_forwarded_address_is_rate_limited(
    settings,
    world: World,
    world_session_factory: sessionmaker[Session],  # type: ignore[no-untyped-def]
) -> None:
    from dataclasses import replace

    from portfolio.web.app import create_app

    forwarded = {"X-Forwarded-For": "203.0.113.9"}
    for proxies, expected_ip in ((0, "127.0.0.1"), (1, "203.0.113.9")):
        client = create_app(replace(settings, trusted_proxies=proxies)).server.test_client()
        token = form_token(client)
        client.post(
            "/login", data={"email": world.customer.email, "password": "wrong", "csrf_token": token}, headers=forwarded
        )
        with world_session_factory() as session:
            last = session.query(LoginAttempt).order_by(LoginAttempt.id.desc()).first()
        assert last is not None and last.ip == expected_ip


def test_logins_and_failed_logins_are_audited(
    client: FlaskClient, world: World, world_session_factory: sessionmaker[Session]
) -> None:
    log_in(client, world.customer.email, "not the password")
    log_in(client, "nobody@nowhere.example", "whatever it is")
    log_in(client, world.customer.email, world.customer.password)
    with world_session_factory() as session:
        entries = session.query(AuditEntry).order_by(AuditEntry.id).all()
    assert [(e.action, e.detail["email"], e.ip) for e in entries] == [
        ("login_failed", world.customer.email, "127.0.0.1"),
        ("login_failed", "nobody@nowhere.example", "127.0.0.1"),
        ("login", world.customer.email, "127.0.0.1"),
    ]
    assert entries[1].user_id is None and entries[2].user_id is not None and entries[2].organisation_id is not None
