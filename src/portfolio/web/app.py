"""Build the Dash app on a Flask server with sign-in, CSRF protection and security headers."""

from __future__ import annotations

import datetime as dt
import gc
import logging
import secrets
from pathlib import Path

import dash
from flask import Flask, jsonify
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.middleware.proxy_fix import ProxyFix

from portfolio import schema
from portfolio.api import install_api
from portfolio.config import Settings, load_settings
from portfolio.db import make_engine, make_session_factory
from portfolio.services.accounts import hash_password

from . import shell
from .auth import blueprint as auth_blueprint
from .auth import make_login_manager
from .callback_guard import install_callback_guard
from .context import EXTENSION, AppState, close_request_session
from .enrolment import install_enrolment
from .export_routes import blueprint as export_blueprint
from .security import CSRF_COOKIE, CSRF_HEADER, install_guards, install_headers
from .server_timing import install_server_timing
from .static_cache import VENDOR_DIR, StaticFileSessionInterface, plotlyjs_meta_tag
from .views.accounts import blueprint as accounts_blueprint
from .views.users import blueprint as users_blueprint

log = logging.getLogger(__name__)

WEB_DIR = Path(__file__).resolve().parent
PAGES_DIR = WEB_DIR / "pages"

INDEX_TEMPLATE = """<!DOCTYPE html>
<html lang="en">
    <head>
        {%metas%}
        <title>{%title%}</title>
        <link rel="icon" type="image/svg+xml" href="/assets/favicon.svg">
        {%css%}
    </head>
    <body>
        {%app_entry%}
        <footer>
            {%config%}
            {%scripts%}
            {%renderer%}
        </footer>
    </body>
</html>"""


def assets_dir() -> Path:
    """The repository's top-level ``assets/`` folder, found from the package source (an editable install).

    A wheel does not carry it: deploy from a checkout (``pip install -e .``), as ``make run`` does.
    """
    return WEB_DIR.parents[2] / "assets"


def _make_server(settings: Settings) -> Flask:
    server = Flask(__name__.rsplit(".", 1)[0], template_folder=str(WEB_DIR / "templates"), static_folder=None)
    server.config.update(
        SECRET_KEY=settings.secret_key,
        SESSION_COOKIE_NAME="portfolio_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.cookie_secure,
        # The cookie outlives no session: the server-side row enforces the idle and absolute timeouts.
        PERMANENT_SESSION_LIFETIME=dt.timedelta(seconds=settings.session_absolute_seconds),
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SECURE=settings.cookie_secure,
        REMEMBER_COOKIE_SAMESITE="Lax",
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session, which has its own lifetime
        WTF_CSRF_HEADERS=[CSRF_HEADER],
    )
    server.session_interface = StaticFileSessionInterface()
    if settings.trusted_proxies:
        # Behind nginx every request comes from the proxy: without this, one IP's failed logins lock everyone out.
        n = settings.trusted_proxies
        server.wsgi_app = ProxyFix(server.wsgi_app, x_for=n, x_proto=n, x_host=n)  # type: ignore[method-assign]
    return server


def _warn_unless_current(state: AppState) -> None:
    """Say loudly when ``portfolio init-db`` has not run; the app never migrates by itself."""
    try:
        current = schema.is_current(state.engine)
    except SQLAlchemyError as error:
        log.warning("cannot read the database schema version (%s); run `portfolio init-db`", error)
        return
    if not current:
        log.warning("the database schema is not current; run `portfolio init-db` before serving")


def create_app(settings: Settings | None = None) -> dash.Dash:
    """Build one app: Flask server, extensions, guards, then Dash with the pages in ``web/pages``."""
    settings = settings or load_settings()
    engine = make_engine(settings.database_url)
    state = AppState(
        settings=settings,
        engine=engine,
        session_factory=make_session_factory(engine),
        dummy_password_hash=hash_password(secrets.token_urlsafe(16)),
    )
    _warn_unless_current(state)
    server = _make_server(settings)
    server.extensions[EXTENSION] = state
    install_server_timing(server)  # first: its span covers every other hook
    server.teardown_appcontext(close_request_session)
    make_login_manager(server)
    csrf = install_guards(server)
    server.register_blueprint(auth_blueprint)
    server.register_blueprint(export_blueprint)  # GET /export/download, streamed
    server.register_blueprint(accounts_blueprint)  # /account, /account/set-password, /account/forgot-password
    server.register_blueprint(users_blueprint)  # /admin/users
    install_enrolment(server)  # /opt-out (signed link), /contact-details and its prompt before the app
    install_api(server, csrf)  # Green Button Connect My Data: /oauth/*, /espi/1_1/resource/*
    server.context_processor(lambda: {"product": shell.PRODUCT_NAME, "attribution": shell.ATTRIBUTION})
    server.add_url_rule("/healthz", "healthz", lambda: jsonify(status="ok"))
    if not assets_dir().is_dir():
        log.warning("no assets folder at %s: pages will be unstyled", assets_dir())
    app = dash.Dash(
        __name__.rsplit(".", 1)[0],
        server=server,  # type: ignore[arg-type]  # dash stubs omit Flask, which Dash accepts
        use_pages=True,
        pages_folder=str(PAGES_DIR),
        assets_folder=str(assets_dir()),
        assets_path_ignore=[VENDOR_DIR],  # loaded on demand (static_cache), not by every page
        title=shell.PRODUCT_NAME,
        update_title=None,  # type: ignore[arg-type]  # None (no "Updating..." title) is documented
        index_string=INDEX_TEMPLATE,
        csrf_token_name=CSRF_COOKIE,
        csrf_header_name=CSRF_HEADER,
        # Dash would build a "validation layout" from every page's layout at a worker's first request, as that
        # request's viewer sees them, and send it with each page: a worker first asked by a customer then told an
        # admin's browser that the admin pages' callbacks name ids not in the layout (console errors, found by hand
        # in session 22). Callbacks are checked on the server instead (install_callback_guard, access).
        suppress_callback_exceptions=True,
    )
    app.config.meta_tags.append(plotlyjs_meta_tag(assets_dir(), app.config.requests_pathname_prefix))
    install_headers(server, lambda: _inline_scripts(app), settings.cookie_secure)
    app.layout = shell.layout
    shell.register_callbacks(app)
    install_callback_guard(app)  # malformed callback payloads get 400 with a reason, never 500
    return app


GC_GEN0_THRESHOLD = 10_000
"""Allocations between young-generation collections in a serving process (Python's default: 700)."""


def settle_for_serving() -> None:
    """Keep the cycle collector off the built app's objects, in a process that now only serves requests.

    A request allocates many short-lived pandas and plotly objects, so Python's default thresholds run a full
    collection every few requests, and a full collection walks every object the process holds (the app, its
    libraries): +150 ms on every third expected-panel call of a 1,000-site portfolio, which is what a p95 shows.
    Frozen objects are never scanned (they stay freed by reference counting) and the young generation is collected
    less often; measured in process, the spikes went and the medians stayed. Called by the production entry points
    once the app is built, never by tests that build many apps in one process.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_GEN0_THRESHOLD, *gc.get_threshold()[1:])


def _inline_scripts(app: dash.Dash) -> list[str]:
    """The inline scripts Dash writes into its index page, hashed into the Content-Security-Policy."""
    return [app.renderer, *app._inline_scripts]  # noqa: SLF001 - Dash has no public accessor
