"""A fresh app per test on a fresh SQLite database holding the small world."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import dash
import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session, sessionmaker

from portfolio.config import Settings, load_settings
from portfolio.db import make_engine, make_session_factory
from portfolio.web.app import create_app
from portfolio.web.context import app_state
from tests.web.browsing import HTML, log_in
from tests.web.world import World, build_small_world

MAX_FAILURES = 3


@pytest.fixture
def settings(sqlite_url: str, tmp_path: Path) -> Settings:
    return load_settings(
        environ={},
        database_url=sqlite_url,
        instance_path=tmp_path / "instance",
        secret_key="test-secret-key",
        cookie_secure=False,
        login_max_failures=MAX_FAILURES,
        login_window_seconds=900,
    )


@pytest.fixture
def world_session_factory(settings: Settings) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(settings.database_url)
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture
def world(settings: Settings, world_session_factory: sessionmaker[Session]) -> World:
    return build_small_world(world_session_factory, settings)


@pytest.fixture
def make_app(settings: Settings, world: World) -> Iterator[Callable[[], dash.Dash]]:
    """Build apps on the shared database (several of them stand in for several gunicorn workers)."""
    apps: list[dash.Dash] = []

    def _make() -> dash.Dash:
        apps.append(create_app(settings))
        return apps[-1]

    yield _make
    for app in apps:
        app_state(app.server).engine.dispose()


@pytest.fixture
def app(make_app: Callable[[], dash.Dash]) -> dash.Dash:
    return make_app()


@pytest.fixture
def client(app: dash.Dash) -> FlaskClient:
    return app.server.test_client()


@pytest.fixture
def customer_client(client: FlaskClient, world: World) -> FlaskClient:
    response = log_in(client, world.customer.email, world.customer.password)
    assert response.status_code == 303
    client.get("/", headers=HTML)  # the page load that sets the CSRF cookie
    return client
