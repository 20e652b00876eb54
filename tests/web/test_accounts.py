"""Account pages through the Flask test client: links that are bad, expired or reused; no enumeration; CSRF;
password change and deactivation ending other sessions; the admin users page refusing everyone but admins."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import dash
import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from portfolio.config import Settings
from portfolio.models import AccountToken, AuditEntry, OutboxEmail, User
from portfolio.services import account_tokens
from portfolio.services.accounts import check_password, find_user
from portfolio.web.security import CSRF_COOKIE
from tests.smtp_sink import SmtpSink, link_in, smtp_sink
from tests.web.browsing import HTML, log_in
from tests.web.world import World

_CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')
NEW_PASSWORD = "a brand new passphrase"


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    with smtp_sink() as sink:
        yield sink


@pytest.fixture
def settings(settings: Settings, sink: SmtpSink) -> Settings:
    return dataclasses.replace(settings, smtp_url=sink.url, base_url="http://portfolio.test")


def _token_of(client: FlaskClient, path: str) -> str:
    match = _CSRF_FIELD.search(client.get(path, headers=HTML).get_data(as_text=True))
    assert match, f"no form on {path}"
    return match.group(1)


def _signed_in(app: dash.Dash, email: str, password: str) -> FlaskClient:
    client = app.server.test_client()
    assert log_in(client, email, password).status_code == 303
    client.get("/", headers=HTML)
    return client


def _works(client: FlaskClient) -> bool:
    return client.get("/_dash-layout").status_code == 200


def _forgot(client: FlaskClient, email: str) -> tuple[int, str]:
    token = _token_of(client, "/account/forgot-password")
    response = client.post("/account/forgot-password", data={"email": email, "csrf_token": token}, headers=HTML)
    response.close()  # the end of the response is when the email goes out
    return response.status_code, response.get_data(as_text=True)


def _link_token(link: str) -> str:
    return parse_qs(urlsplit(link).query)["token"][0]


def test_forgot_password_answers_alike_for_every_address_and_emails_only_the_account(
    client: FlaskClient, world: World, sink: SmtpSink, world_session_factory: sessionmaker[Session]
) -> None:
    unknown = _forgot(client, "nobody@acme.example")
    known = _forgot(client, world.customer.email)
    assert unknown == known and known[0] == 200 and "If an account uses that address" in known[1]
    [message] = sink.wait_for(world.customer.email)
    assert link_in(message).startswith("http://portfolio.test/account/set-password?token=")
    assert len(sink.messages) == 1
    with world_session_factory() as session:
        assert [e.to_address for e in session.scalars(select(OutboxEmail))] == [world.customer.email]


def test_forgot_password_is_limited_like_sign_in_for_any_address(client: FlaskClient, world: World) -> None:
    for email in ("nobody@acme.example", world.customer.email):
        statuses = [_forgot(client, email)[0] for _ in range(4)]
        assert statuses == [200, 200, 200, 429], email  # web conftest: 3 free attempts per address


def _reset_link(client: FlaskClient, email: str, sink: SmtpSink) -> str:
    before = len(sink.to(email))
    assert _forgot(client, email)[0] == 200
    return link_in(sink.wait_for(email, before + 1)[-1])


def _set_password(client: FlaskClient, link: str, password: str, confirm: str | None = None):  # noqa: ANN202
    path = urlsplit(link).path + "?" + urlsplit(link).query
    csrf = _token_of(client, path)
    return client.post(
        "/account/set-password",
        data={"token": _link_token(link), "password": password, "confirm": confirm or password, "csrf_token": csrf},
        headers=HTML,
    )


def test_a_reset_link_sets_the_password_once_and_signs_out_everywhere(
    app: dash.Dash, world: World, sink: SmtpSink
) -> None:
    elsewhere = _signed_in(app, world.customer.email, world.customer.password)
    client = app.server.test_client()
    link = _reset_link(client, world.customer.email, sink)
    page = client.get(urlsplit(link).path + "?" + urlsplit(link).query, headers=HTML)
    assert page.status_code == 200 and "Choose a new password" in page.get_data(as_text=True)
    assert _works(elsewhere)  # opening the link changes nothing
    mismatch = _set_password(client, link, NEW_PASSWORD, "something else entirely")
    assert mismatch.status_code == 400 and "differ" in mismatch.get_data(as_text=True)
    done = _set_password(client, link, NEW_PASSWORD)
    assert done.status_code == 303 and done.headers["Location"].startswith("/login?notice=password-set")
    login_page = client.get(done.headers["Location"], headers=HTML).get_data(as_text=True)
    assert "Your password is set" in login_page and world.customer.email in login_page
    assert not _works(elsewhere)
    again = _set_password(client, link, "yet another passphrase")
    assert again.status_code == 410 and "was already used" in again.get_data(as_text=True)
    assert 'id="forgot-form"' in again.get_data(as_text=True)  # offers a new link
    assert log_in(client, world.customer.email, NEW_PASSWORD).status_code == 303


def test_expired_and_unknown_links_say_so_and_offer_a_new_one(
    app: dash.Dash, world: World, sink: SmtpSink, world_session_factory: sessionmaker[Session], settings: Settings
) -> None:
    client = app.server.test_client()
    link = _reset_link(client, world.customer.email, sink)
    with world_session_factory.begin() as session:
        for token in session.scalars(select(AccountToken)):
            token.expires_at = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    path = urlsplit(link).path + "?" + urlsplit(link).query
    expired = client.get(path, headers=HTML)
    assert expired.status_code == 410 and "This reset link has expired" in expired.get_data(as_text=True)
    assert 'id="forgot-form"' in expired.get_data(as_text=True)
    assert _set_password(client, link, NEW_PASSWORD).status_code == 410
    for bad in ("", "?token=", "?token=nope", "?token=" + "A" * 5000, "?token=%00%ff"):
        response = client.get("/account/set-password" + bad, headers=HTML)
        assert response.status_code == 404 and "This link does not work" in response.get_data(as_text=True)
    with world_session_factory() as session:
        assert check_password(find_user(session, world.customer.email), world.customer.password)
        # An expired invitation offers to send a new one, to the invited address only.
        user = find_user(session, world.customer.email)
        account_tokens.send_invitation(
            session, user, settings=settings, now=dt.datetime.now(dt.UTC) - dt.timedelta(days=8)
        )
        session.commit()
    assert not [m for m in sink.messages if "invitation" in m["Subject"]]  # queued only: read its link in the outbox
    with world_session_factory() as session:
        body = session.scalars(select(OutboxEmail.body).order_by(OutboxEmail.id.desc())).first() or ""
    path = "/account/set-password?token=" + body.split("token=")[1].split()[0]
    page = client.get(path, headers=HTML).get_data(as_text=True)
    assert "This invitation has expired" in page and 'id="renew-form"' in page
    renewed = client.post(
        "/account/renew-invitation",
        data={"token": body.split("token=")[1].split()[0], "csrf_token": _token_of(client, path)},
        headers=HTML,
    )
    renewed.close()
    assert renewed.status_code == 200 and "new link is on its way" in renewed.get_data(as_text=True)
    [fresh] = [m for m in sink.wait_for(world.customer.email, 2) if "invitation" in m["Subject"]]
    assert _link_token(link_in(fresh)) != body.split("token=")[1].split()[0]


def test_account_forms_refuse_posts_without_a_csrf_token(client: FlaskClient, world: World) -> None:
    for path in ("/account/forgot-password", "/account/set-password", "/account/renew-invitation"):
        response = client.post(path, data={"email": world.customer.email, "token": "x"}, headers=HTML)
        assert response.status_code == 400 and "This form expired" in response.get_data(as_text=True)


def test_changing_the_password_needs_the_current_one_and_ends_only_the_other_sessions(
    app: dash.Dash, world: World, world_session_factory: sessionmaker[Session]
) -> None:
    elsewhere = _signed_in(app, world.customer.email, world.customer.password)
    client = _signed_in(app, world.customer.email, world.customer.password)
    csrf = _token_of(client, "/account")
    form = {"current_password": "wrong password", "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD}
    wrong = client.post("/account/password", data={**form, "csrf_token": csrf}, headers=HTML)
    assert wrong.status_code == 400 and "current password is wrong" in wrong.get_data(as_text=True)
    assert _works(elsewhere)
    form["current_password"] = world.customer.password
    changed = client.post("/account/password", data={**form, "csrf_token": csrf}, headers=HTML)
    assert changed.status_code == 303 and changed.headers["Location"] == "/account?done=password"
    assert _works(client) and not _works(elsewhere)
    assert "Your password is changed" in client.get("/account?done=password", headers=HTML).get_data(as_text=True)
    with world_session_factory() as session:
        actions = [e.action for e in session.scalars(select(AuditEntry).order_by(AuditEntry.id))]
        assert "password_changed" in actions
    assert log_in(app.server.test_client(), world.customer.email, NEW_PASSWORD).status_code == 303


def test_the_profile_saves_name_and_notification_channels(app: dash.Dash, world: World) -> None:
    client = _signed_in(app, world.customer.email, world.customer.password)
    csrf = _token_of(client, "/account")
    saved = client.post(
        "/account/profile", data={"display_name": "Bea Buyer", "in_app_notifications": "on", "csrf_token": csrf}
    )
    assert saved.status_code == 303
    page = client.get("/account?done=profile", headers=HTML).get_data(as_text=True)
    assert 'value="Bea Buyer"' in page and "Your profile is saved" in page
    assert 'name="email_notifications" >' in page and 'name="in_app_notifications" checked>' in page
    bad = client.post("/account/profile", data={"display_name": "x" * 300, "csrf_token": csrf})
    assert bad.status_code == 400 and "at most 200" in bad.get_data(as_text=True)


def test_sign_out_of_all_sessions_from_the_account_page(app: dash.Dash, world: World) -> None:
    elsewhere = _signed_in(app, world.customer.email, world.customer.password)
    client = _signed_in(app, world.customer.email, world.customer.password)
    page = client.get("/account", headers=HTML).get_data(as_text=True)
    assert 'action="/logout/everywhere"' in page
    response = client.post("/logout/everywhere", data={"csrf_token": client.get_cookie(CSRF_COOKIE).value})
    assert response.status_code == 303 and not _works(elsewhere) and not _works(client)


def test_the_users_page_is_for_admins_and_deactivation_ends_sessions_at_once(
    app: dash.Dash, world: World, sink: SmtpSink, world_session_factory: sessionmaker[Session]
) -> None:
    customer = _signed_in(app, world.customer.email, world.customer.password)
    assert customer.get("/admin/users", headers=HTML).status_code == 403
    refused = customer.post(
        "/admin/users/invite",
        data={"invite_email": "x@acme.example", "role": "admin", "csrf_token": customer.get_cookie(CSRF_COOKIE).value},
    )
    assert refused.status_code == 403
    admin = _signed_in(app, world.admin.email, world.admin.password)
    page = admin.get("/admin/users", headers=HTML).get_data(as_text=True)
    assert world.customer.email in page and "Invite a user" in page
    csrf = _token_of(admin, "/admin/users")
    invited = admin.post(
        "/admin/users/invite",
        data={"invite_email": "new@acme.example", "role": "customer", "organisation": "ACME-001", "csrf_token": csrf},
    )
    invited.close()
    assert invited.status_code == 303
    [message] = sink.wait_for("new@acme.example")
    assert message["Subject"] == "Your invitation to Portfolio"
    assert "pending until" in admin.get("/admin/users", headers=HTML).get_data(as_text=True)
    bad = admin.post("/admin/users/invite", data={"invite_email": "nope", "role": "customer", "csrf_token": csrf})
    assert bad.status_code == 400 and "not an email address" in bad.get_data(as_text=True)
    with world_session_factory() as session:
        target = find_user(session, world.customer.email)
        assert target is not None
        target_id, admin_id = target.id, find_user(session, world.admin.email).id  # type: ignore[union-attr]
    assert _works(customer)
    off = admin.post("/admin/users/active", data={"user_id": target_id, "active": "no", "csrf_token": csrf})
    assert off.status_code == 303 and not _works(customer)
    assert log_in(app.server.test_client(), world.customer.email, world.customer.password).status_code == 401
    own = admin.post("/admin/users/active", data={"user_id": admin_id, "active": "no", "csrf_token": csrf})
    assert own.status_code == 400 and _works(admin)
    with world_session_factory() as session:
        assert session.get(User, target_id).is_active is False
        actions = {e.action for e in session.scalars(select(AuditEntry))}
        assert {"user_invited", "user_deactivated"} <= actions


def test_the_login_page_offers_the_reset_and_echoes_no_notice_from_the_url(client: FlaskClient) -> None:
    page = client.get("/login?notice=<script>x</script>", headers=HTML).get_data(as_text=True)
    assert 'href="/account/forgot-password"' in page and "<script>x" not in page
