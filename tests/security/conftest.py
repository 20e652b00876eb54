"""Fixtures for the adversarial suite: one app on the two-tenant world, a signed-in client per role, and a tally.

``SECURITY_EXAMPLES`` (environment) sets hypothesis examples per callback and role: small in CI (the suite adds
about a minute), large for ``make soak``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import dash
import pytest
from flask.testing import FlaskClient

from portfolio.config import Settings, load_settings
from portfolio.db import make_engine, make_session_factory
from portfolio.web.app import create_app
from portfolio.web.context import app_state
from tests.security.tenants import Tenants, build_tenants
from tests.web.browsing import HTML, log_in
from tests.web.world import PASSWORD

EXAMPLES = int(os.environ.get("SECURITY_EXAMPLES", "12"))
ROLES = ("customer", "broker", "account_manager", "admin")


@pytest.fixture(scope="session")
def tenants_template(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Tenants]:
    """Build the two-tenant world once (argon2 hashes are slow by design); each test gets a copy."""
    path = tmp_path_factory.mktemp("tenants") / "tenants.db"
    shutil.copy(sqlite_template, path)
    engine = make_engine(f"sqlite:///{path}")
    try:
        tenants = build_tenants(make_session_factory(engine), load_settings({}, instance_path=path.parent))
    finally:
        engine.dispose()
    return path, tenants


@pytest.fixture
def tenants(tenants_template: tuple[Path, Tenants]) -> Tenants:
    return tenants_template[1]


@pytest.fixture
def settings(tenants_template: tuple[Path, Tenants], tmp_path: Path) -> Settings:
    shutil.copy(tenants_template[0], tmp_path / "portfolio.db")
    return load_settings(
        environ={},
        database_url=f"sqlite:///{tmp_path / 'portfolio.db'}",
        instance_path=tmp_path / "instance",
        secret_key="adversarial-test-key",
        cookie_secure=False,
        login_max_failures=1000,  # the suite signs in many times from one address
    )


@pytest.fixture
def app(settings: Settings, tenants: Tenants) -> Iterator[dash.Dash]:
    app = create_app(settings)
    yield app
    app_state(app.server).engine.dispose()


@pytest.fixture
def sign_in(app: dash.Dash, tenants: Tenants) -> Callable[[str], FlaskClient]:
    def _sign_in(role: str) -> FlaskClient:
        client = app.server.test_client()
        assert log_in(client, tenants.logins[role], PASSWORD).status_code == 303
        client.get("/", headers=HTML)  # sets the CSRF cookie
        return client

    return _sign_in
