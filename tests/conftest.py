"""Shared fixtures: a fresh, migrated database per test on SQLite and on a real PostgreSQL."""

from __future__ import annotations

import datetime as dt
import itertools
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from portfolio.config import Settings, load_settings
from portfolio.db import make_engine, make_session_factory
from portfolio.schema import upgrade
from portfolio.services.demo import DemoSummary, load_demo
from portfolio.services.expected import fit_due_models
from tests.pg_server import PostgresServer, PostgresUnavailable
from tests.security.tally import TALLY

IN_CI = os.environ.get("CI", "").lower() == "true"
DATA = Path(__file__).parent / "data"
_database_numbers = itertools.count()


def pytest_sessionfinish(session: pytest.Session) -> None:
    """A pytest-xdist worker hands its adversarial tally to the controller, which prints the whole run's."""
    output = getattr(session.config, "workeroutput", None)
    if output is not None:
        output["adversarial_tally"] = TALLY.as_dict()


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: object, error: object) -> None:
    """Controller side of :func:`pytest_sessionfinish` (a pytest-xdist hook; unused without workers)."""
    tally = getattr(node, "workeroutput", {}).get("adversarial_tally")
    if tally:
        TALLY.add(tally)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if TALLY.calls or TALLY.files:
        terminalreporter.write_line(TALLY.summary())


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One server for the session; a missing PostgreSQL fails the run in CI and skips elsewhere."""
    try:
        server = PostgresServer.start()
    except PostgresUnavailable as error:
        if IN_CI:
            pytest.fail(f"PostgreSQL is required in CI: {error}")
        pytest.skip(f"PostgreSQL not available: {error}")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def postgres_template(postgres_server: PostgresServer) -> str:
    """A migrated template database, cloned per test (much faster than migrating each time)."""
    admin = make_engine(postgres_server.admin_url).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text("CREATE DATABASE portfolio_template"))
    engine = make_engine(postgres_server.url("portfolio_template"))
    upgrade(engine)
    engine.dispose()
    admin.dispose()
    return "portfolio_template"


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


def _fresh_postgres_url(request: pytest.FixtureRequest) -> str:
    server: PostgresServer = request.getfixturevalue("postgres_server")
    template: str = request.getfixturevalue("postgres_template")
    return _clone_postgres(server, template, f"test_{next(_database_numbers)}")


def _fresh_sqlite_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    template: Path = request.getfixturevalue("sqlite_template")
    path = tmp_path / "portfolio.db"
    shutil.copy(template, path)
    return f"sqlite:///{path}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh migrated database URL; tests using it run once on each engine."""
    if request.param == "postgresql":
        return _fresh_postgres_url(request)
    return _fresh_sqlite_url(request, tmp_path)


@pytest.fixture
def postgres_url(request: pytest.FixtureRequest) -> str:
    """A fresh migrated PostgreSQL database, for tests about PostgreSQL alone (mark them ``postgres``)."""
    return _fresh_postgres_url(request)


@pytest.fixture
def sqlite_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh migrated SQLite database, for tests that are not about the database engine."""
    return _fresh_sqlite_url(request, tmp_path)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def session_factory(engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(engine)


@pytest.fixture
def session(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    with session_factory() as session:
        yield session


# The demo, loaded (and with fitted models), once per engine, cloned per test ----------------------------------

DEMO_TODAY = dt.date(2026, 11, 25)  # a Wednesday: the demo ends on Tue 24 Nov


@dataclass(frozen=True)
class LoadedDemo:
    """A fresh database holding the demo as ``load_demo(today=DEMO_TODAY)`` left it (no models fitted)."""

    url: str
    settings: Settings  # its instance folder (with demo_logins.json) is the test's own copy
    summary: DemoSummary


def _demo_settings(url: str, instance: Path) -> Settings:
    return load_settings({}, instance_path=instance, database_url=url, secret_key="x")


def _load_demo_into(url: str, instance: Path) -> DemoSummary:
    engine = make_engine(url)
    try:
        return load_demo(make_session_factory(engine), _demo_settings(url, instance), today=DEMO_TODAY)
    finally:
        engine.dispose()


def _fit_demo(url: str) -> None:
    engine = make_engine(url)
    try:
        fit_due_models(make_session_factory(engine), now=dt.datetime.combine(DEMO_TODAY, dt.time(5), dt.UTC))
    finally:
        engine.dispose()


def _clone_postgres(server: PostgresServer, template: str, name: str) -> str:
    admin = make_engine(server.admin_url).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {name} TEMPLATE {template}"))
    admin.dispose()
    return server.url(name)


@pytest.fixture(scope="session")
def loaded_sqlite_template(
    sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, Path, DemoSummary]:
    """Loading the demo takes seconds: done once, then each test gets a copy of the file."""
    folder = tmp_path_factory.mktemp("loaded-demo")
    shutil.copy(sqlite_template, folder / "demo.db")
    summary = _load_demo_into(f"sqlite:///{folder / 'demo.db'}", folder / "instance")
    return folder / "demo.db", folder / "instance", summary


@pytest.fixture(scope="session")
def loaded_postgres_template(
    postgres_server: PostgresServer, postgres_template: str, tmp_path_factory: pytest.TempPathFactory
) -> tuple[str, Path, DemoSummary]:
    url = _clone_postgres(postgres_server, postgres_template, "loaded_demo")
    instance = tmp_path_factory.mktemp("loaded-demo-pg") / "instance"
    return "loaded_demo", instance, _load_demo_into(url, instance)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def loaded_demo(request: pytest.FixtureRequest, tmp_path: Path) -> LoadedDemo:
    """A fresh database with the demo loaded, on each engine: a module whose tests all start from the demo
    overrides ``database_url`` with ``loaded_demo.url``."""
    instance = tmp_path / "instance"
    if request.param == "sqlite":
        path, template_instance, summary = request.getfixturevalue("loaded_sqlite_template")
        shutil.copy(path, tmp_path / "portfolio.db")
        url = f"sqlite:///{tmp_path / 'portfolio.db'}"
    else:
        name, template_instance, summary = request.getfixturevalue("loaded_postgres_template")
        url = _clone_postgres(request.getfixturevalue("postgres_server"), name, f"demo_{next(_database_numbers)}")
    shutil.copytree(template_instance, instance)
    return LoadedDemo(url, _demo_settings(url, instance), summary)


@pytest.fixture(scope="session")
def fitted_sqlite_template(
    loaded_sqlite_template: tuple[Path, Path, DemoSummary], tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, Path]:
    path, instance, _ = loaded_sqlite_template
    folder = tmp_path_factory.mktemp("fitted-demo")
    shutil.copy(path, folder / "demo.db")
    shutil.copytree(instance, folder / "instance")
    _fit_demo(f"sqlite:///{folder / 'demo.db'}")
    return folder / "demo.db", folder / "instance"


@pytest.fixture(scope="session")
def fitted_postgres_template(
    postgres_server: PostgresServer,
    loaded_postgres_template: tuple[str, Path, DemoSummary],
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[str, Path]:
    name, instance, _ = loaded_postgres_template
    _fit_demo(_clone_postgres(postgres_server, name, "fitted_demo"))
    return "fitted_demo", instance


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def demo_world(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, Path]:
    """A fresh database holding the demo with fitted models (copied from a per-engine template)."""
    if request.param == "sqlite":
        path, instance = request.getfixturevalue("fitted_sqlite_template")
        shutil.copy(path, tmp_path / "portfolio.db")
        return f"sqlite:///{tmp_path / 'portfolio.db'}", instance
    name, instance = request.getfixturevalue("fitted_postgres_template")
    return _clone_postgres(
        request.getfixturevalue("postgres_server"), name, f"demo_{next(_database_numbers)}"
    ), instance
