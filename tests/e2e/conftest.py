"""Browser fixtures: the app served from a background thread over a fresh database, and Debian chromium.

The world is built by one function, ``build_world(session_factory, settings) -> World``: the real demo
dataset, signed in to with the demo accounts generated at load time.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Error, Page, sync_playwright
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.serving import make_server

from portfolio.config import Settings, load_settings
from portfolio.db import make_engine, make_session_factory
from portfolio.web.app import create_app
from portfolio.web.context import app_state
from tests.conftest import IN_CI
from portfolio.demo import demo_logins, load_demo
from portfolio.web.url_state import local_today
from tests.web.world import Credentials, World

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic",
]


def build_demo_world(session_factory: sessionmaker[Session], settings: Settings) -> World:
    """Load the demo dataset and sign in as its first customer and its admin, as a new user of `make run` would."""
    load_demo(session_factory, settings, today=local_today())
    logins = demo_logins(settings)
    first = {role: next(item for item in logins if item["role"] == role) for role in ("customer", "admin")}
    return World(
        customer=Credentials(first["customer"]["email"], first["customer"]["password"]),
        admin=Credentials(first["admin"]["email"], first["admin"]["password"]),
    )


build_world = build_demo_world


@dataclass(frozen=True)
class LiveApp:
    base_url: str
    world: World
    session_factory: sessionmaker[Session]


@dataclass
class BrowserPage:
    """A page plus every console error and uncaught exception it produced, for tests to assert on."""

    page: Page
    errors: list[str] = field(default_factory=list)


@pytest.fixture(scope="session")
def e2e_settings(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    folder = tmp_path_factory.mktemp("e2e")
    shutil.copy(sqlite_template, folder / "portfolio.db")
    return load_settings(
        environ={}, database_url=f"sqlite:///{folder / 'portfolio.db'}", instance_path=folder / "instance",
        secret_key="e2e-secret-key", cookie_secure=False,
    )


@pytest.fixture(scope="session")
def live_app(e2e_settings: Settings) -> Iterator[LiveApp]:
    """Serve one app on a free loopback port for the whole session, as gunicorn would serve app:server."""
    engine = make_engine(e2e_settings.database_url)
    session_factory = make_session_factory(engine)
    world = build_world(session_factory, e2e_settings)
    app = create_app(e2e_settings)
    server = make_server("127.0.0.1", 0, app.server, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="e2e-server", daemon=True)
    thread.start()
    yield LiveApp(f"http://127.0.0.1:{server.server_port}", world, session_factory)
    server.shutdown()
    thread.join(timeout=10)
    server.server_close()
    app_state(app.server).engine.dispose()
    engine.dispose()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Debian's chromium, never a downloaded one; missing chromium fails in CI and skips elsewhere."""
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} not found: install Debian's chromium (apt-get install chromium)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def browser_page(browser: Browser, live_app: LiveApp) -> Iterator[BrowserPage]:
    context = browser.new_context(base_url=live_app.base_url, viewport={"width": 1366, "height": 820})
    page = context.new_page()
    watched = BrowserPage(page)

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            watched.errors.append(f"console: {message.text} ({message.location.get('url', '')})")

    def on_page_error(error: Error) -> None:
        watched.errors.append(f"pageerror: {error.message}")

    page.on("console", on_console)
    page.on("pageerror", on_page_error)
    yield watched
    context.close()


@pytest.fixture
def screenshot_dir(tmp_path: Path) -> Path:
    """Where screenshots go: ``$PORTFOLIO_SCREENSHOTS`` when set (CI artefacts), else the test's tmp folder."""
    folder = Path(os.environ.get("PORTFOLIO_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder
