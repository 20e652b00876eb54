"""Browser caching of the app's own static files: a page load asks the server only for what changed.

Dash names its script bundles with a fingerprint (``dash_renderer.v4_4_1m1796577902.min.js``) and our ``assets/``
files with an ``?m=<modified>`` query, yet the assets were served ``no-cache`` and plotly.js (4.8 MB) from a URL
without any version, and every response said ``Vary: Cookie``: each page load revalidated them, on the same two
workers as the page's callbacks, before Dash could start. Measured in Chromium on a 1-site graph, three runs of ten
loads side by side: 0.26-0.30 s of server CPU per page load before, 0.18-0.21 s after.

Versioned URLs are cached for a year (``immutable``: the URL changes when the file does). plotly.js gets a
versioned URL too: a ``<meta>`` tag names it (:func:`plotlyjs_meta_tag`) and ``assets/plotly-url.js`` hands it to
the Dash renderer, which otherwise loads the unversioned one. It is plotly.js's cartesian bundle
(``assets/vendor/``), a third of the full one: Chromium spent ~2 s of CPU per graph page load, on two cores shared
with the server. ``private``: no shared cache keeps a copy (Dash's own files are served to signed-in users only);
the responses do not vary with the cookie (:class:`StaticFileSessionInterface`).
"""

from __future__ import annotations

import hashlib
import logging
import re
from pathlib import Path

import plotly
from dash.fingerprint import build_fingerprint, check_fingerprint
from flask import Flask, Request, request
from flask.sessions import SecureCookieSessionInterface, SessionMixin
from flask.wrappers import Response as FlaskResponse
from plotly.offline import get_plotlyjs_version
from werkzeug.wrappers import Response

log = logging.getLogger(__name__)

IMMUTABLE = "private, max-age=31536000, immutable"
COMPONENT_SUITES = "/_dash-component-suites/"
ASSETS_PREFIX = "/assets/"
PLOTLYJS_META = "portfolio-plotlyjs-url"
PLOTLYJS_FILE = "package_data/plotly.min.js"


CARTESIAN_TRACES = frozenset(
    {
        "bar",
        "box",
        "contour",
        "heatmap",
        "histogram",
        "histogram2d",
        "histogram2dcontour",
        "image",
        "pie",
        "scatter",
        "scatterternary",
        "violin",
    }
)
"""The trace types of plotly.js's cartesian bundle (``lib/index-cartesian.js``): every figure the app draws uses
only these (checked by ``tests/figures``)."""

VENDOR_DIR = "vendor"
"""``assets/vendor/``: served like any asset, never added to the pages by Dash (``assets_path_ignore``)."""
CARTESIAN_FILE = "plotly-cartesian.min.js"
_BUNDLE_VERSION = re.compile(rb"plotly\.js \(cartesian[^)]*\) v(\d+\.\d+\.\d+)")


def cartesian_bundle_version(assets: Path) -> str | None:
    """The plotly.js version of the vendored cartesian bundle, from its header (None: no bundle there)."""
    try:
        with open(assets / VENDOR_DIR / CARTESIAN_FILE, "rb") as bundle:
            found = _BUNDLE_VERSION.search(bundle.read(400))
    except OSError:
        return None
    return found.group(1).decode() if found else None


def plotlyjs_url(assets: Path, prefix: str = "/") -> str:
    """Where the pages load plotly.js from: the vendored cartesian bundle (1.5 MB) when it is the plotly.js version
    the installed plotly expects, else Dash's full bundle (4.8 MB); either with a version in the URL."""
    bundle = assets / VENDOR_DIR / CARTESIAN_FILE
    if cartesian_bundle_version(assets) == get_plotlyjs_version():
        digest = hashlib.sha256(bundle.read_bytes()).hexdigest()[:16]
        return f"{prefix}assets/{VENDOR_DIR}/{CARTESIAN_FILE}?m={digest}"
    log.warning("no cartesian plotly.js %s in %s: pages load the full bundle", get_plotlyjs_version(), bundle.parent)
    modified = int((Path(plotly.__file__).parent / PLOTLYJS_FILE).stat().st_mtime)
    return f"{prefix}_dash-component-suites/plotly/{build_fingerprint(PLOTLYJS_FILE, plotly.__version__, modified)}"


def plotlyjs_meta_tag(assets: Path, prefix: str = "/") -> dict[str, str]:
    """The ``<meta>`` tag ``assets/plotly-url.js`` reads plotly.js's URL from."""
    return {"name": PLOTLYJS_META, "content": plotlyjs_url(assets, prefix)}


def is_versioned(request: Request) -> bool:
    """A static file whose URL changes whenever its content does: Dash's fingerprinted bundles, ``?m=`` assets."""
    if request.path.startswith(COMPONENT_SUITES):
        return check_fingerprint(request.path)[1]
    return request.path.startswith(ASSETS_PREFIX) and bool(request.args.get("m"))


def cache_static(request: Request, response: Response) -> Response:
    """Let the browser keep versioned static files for a year; anything else keeps its own headers."""
    if response.status_code in (200, 304) and is_versioned(request):
        response.headers["Cache-Control"] = IMMUTABLE
    return response


class StaticFileSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, except that a versioned static file's response leaves the session cookie
    alone: no ``Vary: Cookie`` and no refreshed ``Set-Cookie``.

    The sign-in check reads the session (and flask-login looks at it after every request), so Flask marks every
    response "Vary: Cookie"; the CSRF cookie changes on every page load, so Chromium never matched its cached copy
    of plotly.js and fetched all 4.8 MB again. These files are the same bytes for every signed-in user; the pages
    and callbacks of the same visit keep the session alive.
    """

    def save_session(self, app: Flask, session: SessionMixin, response: FlaskResponse) -> None:
        if is_versioned(request):
            return
        super().save_session(app, session, response)
