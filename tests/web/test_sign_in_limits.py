"""Sign-in limits that stop guessing without locking out the owner or an office (issue 18)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace

import dash
import pytest
from flask.testing import FlaskClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from portfolio.config import Settings
from portfolio.models import LoginAttempt, OutboxEmail
from portfolio.web.app import create_app
from portfolio.web.auth import WRONG_CREDENTIALS
from portfolio.web.login_limits import pair_delay_seconds
from tests.web.browsing import log_in
from tests.web.conftest import MAX_FAILURES
from tests.web.world import World

_TOKEN = re.compile(r'name="csrf_token" value="[^"]*"|\d+ seconds?')


def _from(app: dash.Dash, address: str) -> FlaskClient:
    client = app.server.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def _age_attempts(factory: sessionmaker[Session], seconds: int) -> None:
    with factory.begin() as session:
        session.execute(update(LoginAttempt).values(at_ts=LoginAttempt.at_ts - seconds))


@pytest.mark.parametrize(
    ("failures", "expected"), [(0, 0), (MAX_FAILURES - 1, 0), (MAX_FAILURES, 2), (MAX_FAILURES + 3, 16), (99, 900)]
)
def test_the_pair_delay_doubles_up_to_the_maximum(failures: int, expected: int) -> None:
    assert pair_delay_seconds(failures, MAX_FAILURES, 900) == expected


def test_a_guesser_elsewhere_does_not_lock_the_owner_out(app: dash.Dash, world: World) -> None:
    """Old behaviour: five wrong passwords from anywhere locked the account for 15 minutes."""
    for number in range(4):
        attacker = _from(app, f"198.51.100.{number}")
        for _ in range(MAX_FAILURES + 1):
            log_in(attacker, world.customer.email, "not the password")
    owner = _from(app, "192.0.2.10")
    assert log_in(owner, world.customer.email, world.customer.password).status_code == 303


def test_one_persons_mistakes_do_not_lock_the_office(app: dash.Dash, world: World) -> None:
    """Old behaviour: the per-address limit locked everyone behind one address after one person's mistakes."""
    clumsy = _from(app, "203.0.113.5")
    for _ in range(MAX_FAILURES + 2):
        log_in(clumsy, world.customer.email, "not the password")
    colleague = _from(app, "203.0.113.5")
    assert log_in(colleague, world.admin.email, world.admin.password).status_code == 303


def test_the_pair_waits_longer_after_each_failure(
    app: dash.Dash, world: World, world_session_factory: sessionmaker[Session]
) -> None:
    guesser = _from(app, "198.51.100.7")
    for _ in range(MAX_FAILURES):
        assert log_in(guesser, world.customer.email, "not the password").status_code == 401
    delayed = log_in(guesser, world.customer.email, world.customer.password)
    assert delayed.status_code == 429
    assert 0 < int(delayed.headers["Retry-After"]) <= 2
    _age_attempts(world_session_factory, 2)
    assert log_in(guesser, world.customer.email, "still not it").status_code == 401  # weighed again
    assert 2 < int(log_in(guesser, world.customer.email, world.customer.password).headers["Retry-After"]) <= 4
    _age_attempts(world_session_factory, 4)
    assert log_in(guesser, world.customer.email, world.customer.password).status_code == 303


def test_the_email_ceiling_stops_spread_out_guessing_but_not_the_owners_usual_address(
    settings: Settings, world: World
) -> None:
    app = create_app(replace(settings, login_email_ceiling=6))
    owner = _from(app, "192.0.2.10")
    assert log_in(owner, world.customer.email, world.customer.password).status_code == 303  # a known address
    for number in range(6):
        log_in(_from(app, f"198.51.100.{number}"), world.customer.email, "not the password")
    assert log_in(_from(app, "198.51.100.99"), world.customer.email, world.customer.password).status_code == 429
    assert log_in(_from(app, "192.0.2.10"), world.customer.email, world.customer.password).status_code == 303


def test_the_address_ceiling_stops_guessing_many_accounts(settings: Settings, world: World) -> None:
    app = create_app(replace(settings, login_address_ceiling=5))
    sprayer = _from(app, "198.51.100.50")
    for number in range(5):
        assert log_in(sprayer, f"person{number}@acme.example", "Winter2026!").status_code == 401
    assert log_in(sprayer, world.admin.email, world.admin.password).status_code == 429


def test_the_owner_is_told_once_about_repeated_failures(
    settings: Settings, world: World, world_session_factory: sessionmaker[Session]
) -> None:
    app = create_app(replace(settings, login_notify_after=4))
    for number in range(8):
        log_in(_from(app, f"198.51.100.{number}"), world.customer.email, "not the password")
    for number in range(8):
        log_in(_from(app, f"198.51.100.{number}"), "nobody@acme.example", "not the password")
    with world_session_factory() as session:
        emails = session.scalars(select(OutboxEmail)).all()
    assert [email.to_address for email in emails] == [world.customer.email]
    assert "failed attempts to sign in" in emails[0].body
    assert "198.51.100.3" in emails[0].body  # the address of the attempt that crossed the threshold


def test_limits_do_not_reveal_which_accounts_exist(app: dash.Dash, world: World) -> None:
    responses = {}
    for email in (world.customer.email, "nobody@acme.example"):
        client = _from(app, "198.51.100.200")
        bodies = [log_in(client, email, "not the password") for _ in range(MAX_FAILURES + 1)]
        responses[email] = [
            (
                r.status_code,
                "Retry-After" in r.headers,
                _TOKEN.sub("", r.get_data(as_text=True).replace(email, "EMAIL")),
            )
            for r in bodies
        ]
    known, unknown = responses.values()
    assert known == unknown
    assert known[0][0] == 401 and WRONG_CREDENTIALS in known[0][2]
    assert known[-1][0] == 429


def test_limits_hold_across_workers(make_app: Callable[[], dash.Dash], world: World) -> None:
    first, second = make_app(), make_app()
    for _ in range(MAX_FAILURES):
        log_in(_from(first, "198.51.100.8"), world.customer.email, "not the password")
    assert log_in(_from(second, "198.51.100.8"), world.customer.email, world.customer.password).status_code == 429
