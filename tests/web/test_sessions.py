"""Server-side sessions: every copy of a session cookie ends at logout, revocation and timeouts (issue 18)."""

from __future__ import annotations

from collections.abc import Callable

import dash
from flask.testing import FlaskClient
from sqlalchemy import event, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from portfolio.models import Organisation, Role, User, UserSession
from portfolio.services.accounts import change_password, find_user, set_active
from portfolio.web import ids
from portfolio.web.security import CSRF_COOKIE, CSRF_HEADER
from tests.web.browsing import HTML, log_in
from tests.web.world import World

SESSION_COOKIE = "portfolio_session"
BROWSER = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0"}


def _signed_in(app: dash.Dash, world: World, user_agent: str = BROWSER["User-Agent"]) -> FlaskClient:
    client = app.server.test_client()
    client.environ_base["HTTP_USER_AGENT"] = user_agent
    assert log_in(client, world.customer.email, world.customer.password).status_code == 303
    client.get("/", headers=HTML)
    return client


def _copy_of(app: dash.Dash, client: FlaskClient, user_agent: str = BROWSER["User-Agent"]) -> FlaskClient:
    """Another client holding a copy of ``client``'s session cookie, as a thief would."""
    thief = app.server.test_client()
    thief.environ_base["HTTP_USER_AGENT"] = user_agent
    for name in (SESSION_COOKIE, CSRF_COOKIE):
        cookie = client.get_cookie(name)
        assert cookie is not None
        thief.set_cookie(name, cookie.value)
    return thief


def _works(client: FlaskClient) -> bool:
    status = client.get("/_dash-layout").status_code
    assert status in (200, 401)
    return status == 200


def _logout(client: FlaskClient, path: str = "/logout") -> None:
    response = client.post(path, data={"csrf_token": client.get_cookie(CSRF_COOKIE).value})
    assert response.status_code == 303


def test_a_cookie_captured_before_logout_stops_working(app: dash.Dash, world: World) -> None:
    browser = _signed_in(app, world)
    copy = _copy_of(app, browser)
    assert _works(copy)
    _logout(browser)
    assert not _works(copy)
    assert not _works(browser)


def test_a_copied_cookie_from_another_browser_is_refused(app: dash.Dash, world: World) -> None:
    browser = _signed_in(app, world)
    thief = _copy_of(app, browser, user_agent="curl/8.5.0")
    assert not _works(thief)
    assert not _works(browser)  # the misuse ends the session for both: the owner signs in again, the thief cannot


def test_sign_out_everywhere_ends_every_session(make_app: Callable[[], dash.Dash], world: World) -> None:
    laptop, phone = _signed_in(make_app(), world), _signed_in(make_app(), world, user_agent="Phone/1.0")
    assert _works(laptop) and _works(phone)
    _logout(phone, "/logout/everywhere")
    assert not _works(laptop) and not _works(phone)


def test_sessions_are_shared_by_workers(make_app: Callable[[], dash.Dash], world: World) -> None:
    first, second = make_app(), make_app()
    browser = _signed_in(first, world)
    same_browser_other_worker = _copy_of(second, browser)
    assert _works(same_browser_other_worker)
    _logout(same_browser_other_worker)
    assert not _works(browser)


def test_password_change_ends_every_session(
    app: dash.Dash, world: World, world_session_factory: sessionmaker[Session]
) -> None:
    laptop, phone = _signed_in(app, world), _signed_in(app, world, user_agent="Phone/1.0")
    with world_session_factory.begin() as session:
        user = find_user(session, world.customer.email)
        assert user is not None
        assert change_password(session, user, "a new and longer password") == 2
    assert not _works(laptop) and not _works(phone)
    assert log_in(app.server.test_client(), world.customer.email, "a new and longer password").status_code == 303


def test_deactivation_ends_sessions_and_reactivation_does_not_revive_them(
    app: dash.Dash, world: World, world_session_factory: sessionmaker[Session]
) -> None:
    browser = _signed_in(app, world)
    for active in (False, True):
        with world_session_factory.begin() as session:
            user = find_user(session, world.customer.email)
            assert user is not None
            set_active(session, user, active)
    assert not _works(browser)


def test_idle_timeout(app: dash.Dash, world: World, world_session_factory: sessionmaker[Session]) -> None:
    browser = _signed_in(app, world)
    idle = app.server.extensions["portfolio"].settings.session_idle_seconds
    with world_session_factory.begin() as session:
        session.execute(update(UserSession).values(last_seen_ts=UserSession.last_seen_ts - idle + 120))
    assert _works(browser)  # used within the idle time: refreshed
    with world_session_factory.begin() as session:
        session.execute(update(UserSession).values(last_seen_ts=UserSession.last_seen_ts - idle - 1))
    assert not _works(browser)


def test_background_polls_do_not_keep_a_session_alive(
    app: dash.Dash, world: World, world_session_factory: sessionmaker[Session]
) -> None:
    browser = _signed_in(app, world)
    with world_session_factory.begin() as session:
        session.execute(update(UserSession).values(last_seen_ts=UserSession.last_seen_ts - 600))
        before = session.scalar(select(UserSession.last_seen_ts))
    poll = {
        "output": f"{ids.BELL_COUNT}.children",
        "outputs": {"id": ids.BELL_COUNT, "property": "children"},
        "inputs": [{"id": ids.BELL_INTERVAL, "property": "n_intervals", "value": 3}],
        "changedPropIds": [f"{ids.BELL_INTERVAL}.n_intervals"],
        "state": [],
    }
    browser.post("/_dash-update-component", json=poll, headers={CSRF_HEADER: browser.get_cookie(CSRF_COOKIE).value})
    with world_session_factory() as session:
        assert session.scalar(select(UserSession.last_seen_ts)) == before
    assert _works(browser)
    with world_session_factory() as session:
        assert session.scalar(select(UserSession.last_seen_ts)) > before


def test_absolute_timeout_even_when_used(
    app: dash.Dash, world: World, world_session_factory: sessionmaker[Session]
) -> None:
    browser = _signed_in(app, world)
    absolute = app.server.extensions["portfolio"].settings.session_absolute_seconds
    with world_session_factory.begin() as session:
        session.execute(update(UserSession).values(created_ts=UserSession.created_ts - absolute - 1))
    assert not _works(browser)


def test_the_session_id_rotates_at_sign_in_and_on_privilege_change(
    app: dash.Dash, world: World, world_session_factory: sessionmaker[Session]
) -> None:
    browser = _signed_in(app, world)
    second = _signed_in(app, world)
    with world_session_factory() as session:
        assert len(session.scalars(select(UserSession.id_hash)).all()) == 2  # one id per sign-in
    before = _copy_of(app, browser)
    with world_session_factory.begin() as session:
        user = find_user(session, world.customer.email)
        assert user is not None
        other = session.scalar(select(Organisation).where(Organisation.id != user.organisation_id))
        assert other is not None
        user.organisation_id = other.id  # moved to another organisation: different rights
    assert _works(browser)  # rotated, not ended: the browser carries on with a new id
    assert browser.get_cookie(SESSION_COOKIE).value != before.get_cookie(SESSION_COOKIE).value
    assert not _works(before)  # the old id is gone
    assert _works(second)


def test_a_role_change_rotates_the_id(
    app: dash.Dash, world: World, world_session_factory: sessionmaker[Session]
) -> None:
    browser = _signed_in(app, world)
    with world_session_factory() as session:
        old_ids = set(session.scalars(select(UserSession.id_hash)).all())
    with world_session_factory.begin() as session:
        session.execute(update(User).where(User.email == world.customer.email).values(role=Role.ADMIN))
    assert _works(browser)
    with world_session_factory() as session:
        new_ids = set(session.scalars(select(UserSession.id_hash)).all())
    assert new_ids and not (new_ids & old_ids)


def test_each_request_reads_the_user_and_their_session_row_once_together(app: dash.Dash, world: World) -> None:
    """The sign-in check and the page's access share one read of the account and the cookie's session row (one
    round trip: under load, each waits for a core on the server and another in the database)."""
    client = _signed_in(app, world)
    statements: list[str] = []

    def seen(_conn: object, _cursor: object, statement: str, *_rest: object) -> None:
        statements.append(" ".join(statement.split()).lower())

    event.listen(Engine, "before_cursor_execute", seen)
    try:
        assert client.get("/portfolio", headers=HTML).status_code == 200
    finally:
        event.remove(Engine, "before_cursor_execute", seen)
    reading_accounts = [s for s in statements if " from users" in s or "join user_sessions" in s]
    assert len(reading_accounts) == 1 and "user_sessions" in reading_accounts[0], reading_accounts
