"""Browser fixtures: the app served from a background thread over a fresh database, and Debian chromium.

The world is the real demo dataset, loaded once per session (``demo_template``) and copied for each served
app (``copy_demo`` + ``serve``), signed in to with the demo accounts generated at load time.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from cheroot.wsgi import Server as WsgiServer
from playwright.sync_api import Browser, ConsoleMessage, Error, Page, expect, sync_playwright
from sqlalchemy.orm import Session, sessionmaker

from portfolio.config import Settings, load_settings
from portfolio.db import make_engine, make_session_factory
from portfolio.services.demo import demo_logins, load_demo
from portfolio.timekeeping import local_today
from portfolio.web.app import create_app
from portfolio.web.context import app_state
from tests.conftest import IN_CI
from tests.web.world import Credentials, World

CHROMIUM = Path("/usr/bin/chromium")
# Assertions wait up to 15 s (Playwright's default is 5): a 2-core CI machine running the whole suite, or a
# developer's busy laptop, can take longer than 5 s to draw a year of data; a real failure still fails.
expect.set_options(timeout=15_000)
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def demo_world(settings: Settings) -> World:
    """Sign in as the demo's first customer and its admin, with the logins generated when it was loaded."""
    logins = demo_logins(settings)
    first = {role: next(item for item in logins if item["role"] == role) for role in ("customer", "admin")}
    return World(
        customer=Credentials(first["customer"]["email"], first["customer"]["password"]),
        admin=Credentials(first["admin"]["email"], first["admin"]["password"]),
    )


def demo_settings(folder: Path, name: str) -> Settings:
    return load_settings(
        environ={},
        database_url=f"sqlite:///{folder / 'demo.db'}",
        instance_path=folder / "instance",
        secret_key=f"e2e-{name}-secret",
        cookie_secure=False,
    )


@pytest.fixture(scope="session")
def demo_template(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Load the demo once per test session (a few seconds); every served app works on its own copy."""
    folder = tmp_path_factory.mktemp("demo-template")
    shutil.copy(sqlite_template, folder / "demo.db")
    settings = demo_settings(folder, "template")
    engine = make_engine(settings.database_url)
    load_demo(make_session_factory(engine), settings, today=local_today())
    engine.dispose()
    return folder


def copy_demo(demo_template: Path, tmp_path_factory: pytest.TempPathFactory, name: str) -> Settings:
    """A private copy of the loaded demo (database and instance folder with its logins)."""
    folder = tmp_path_factory.mktemp(name)
    shutil.copy(demo_template / "demo.db", folder / "demo.db")
    shutil.copytree(demo_template / "instance", folder / "instance")
    return demo_settings(folder, name)


@contextmanager
def serve(settings: Settings) -> Iterator[tuple[str, sessionmaker[Session]]]:
    """Serve the app on a free loopback port from a background thread, as gunicorn would serve app:server.

    A production WSGI server (cheroot, threaded), not werkzeug's development server: that one drains a POST's
    socket until the browser hangs up before it closes the response, so work done after a response (account emails)
    waited on the browser.
    """
    engine = make_engine(settings.database_url)
    app = create_app(settings)
    server = WsgiServer(("127.0.0.1", 0), app.server, numthreads=8, server_name="e2e")
    server.prepare()
    thread = threading.Thread(target=server.serve, name="e2e-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.bind_addr[1]}", make_session_factory(engine)
    finally:
        server.stop()
        thread.join(timeout=10)
        app_state(app.server).engine.dispose()
        engine.dispose()


@dataclass(frozen=True)
class LiveApp:
    base_url: str
    world: World
    session_factory: sessionmaker[Session]
    settings: Settings


@dataclass
class BrowserPage:
    """A page plus every console error and uncaught exception it produced, for tests to assert on."""

    page: Page
    errors: list[str] = field(default_factory=list)


@pytest.fixture(scope="session")
def live_app(demo_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApp]:
    """The demo served for the whole session, signed in to with its generated logins."""
    settings = copy_demo(demo_template, tmp_path_factory, "e2e")
    with serve(settings) as (base_url, session_factory):
        yield LiveApp(base_url, demo_world(settings), session_factory, settings)


@pytest.fixture(scope="session")
def e2e_settings(live_app: LiveApp) -> Settings:
    """The served demo's settings (instance folder, database), for tests that run jobs against it."""
    return live_app.settings


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


@contextmanager
def open_page(browser: Browser, base_url: str, height: int = 820) -> Iterator[BrowserPage]:
    """A fresh browser context on ``base_url`` that records every console error and uncaught exception."""
    context = browser.new_context(base_url=base_url, viewport={"width": 1366, "height": height})
    watched = BrowserPage(context.new_page())

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            watched.errors.append(f"console: {message.text} ({message.location.get('url', '')})")

    def on_page_error(error: Error) -> None:
        watched.errors.append(f"pageerror: {error.message}")

    watched.page.on("console", on_console)
    watched.page.on("pageerror", on_page_error)
    try:
        yield watched
    finally:
        context.close()


@pytest.fixture
def browser_page(browser: Browser, live_app: LiveApp) -> Iterator[BrowserPage]:
    with open_page(browser, live_app.base_url) as watched:
        yield watched


DOCS_SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.fixture
def screenshot_dir(tmp_path: Path) -> Path:
    """Where screenshots go: docs/screenshots/ only when ``PORTFOLIO_REFRESH_SCREENSHOTS=1`` asks to refresh them,
    else ``$PORTFOLIO_SCREENSHOTS`` when set (CI artefacts), else the test's tmp folder (a test run never edits docs/).
    """
    if os.environ.get("PORTFOLIO_REFRESH_SCREENSHOTS") == "1":
        folder = DOCS_SCREENSHOTS
    else:
        folder = Path(os.environ.get("PORTFOLIO_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder
