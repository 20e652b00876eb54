"""Browser caching of the app's static files (``portfolio.web.static_cache``), checked with the Flask test client."""

from __future__ import annotations

import re
from pathlib import Path

from flask.testing import FlaskClient
from plotly.offline import get_plotlyjs_version

from portfolio.web.app import assets_dir
from portfolio.web.static_cache import (
    IMMUTABLE,
    PLOTLYJS_META,
    cartesian_bundle_version,
    plotlyjs_url,
)
from tests.web.browsing import HTML, log_in
from tests.web.world import World


def _plotlyjs_url_on_page(client: FlaskClient) -> str:
    page = client.get("/graphs", headers=HTML).get_data(as_text=True)
    found = re.search(rf'<meta name="{PLOTLYJS_META}" content="([^"]+)"', page)
    assert found is not None, "the page names plotly.js's versioned URL"
    return found.group(1)


def test_the_vendored_cartesian_bundle_is_the_plotlyjs_of_the_installed_plotly() -> None:
    """Update ``assets/vendor/plotly-cartesian.min.js`` with plotly (see its README): figures are built by the Python
    package for its own plotly.js version."""
    assert cartesian_bundle_version(assets_dir()) == get_plotlyjs_version()


def test_plotlyjs_has_a_versioned_url_cached_for_a_year(client: FlaskClient, world: World) -> None:
    log_in(client, world.customer.email, world.customer.password)
    url = _plotlyjs_url_on_page(client)
    assert url == plotlyjs_url(assets_dir())
    assert re.fullmatch(r"/assets/vendor/plotly-cartesian\.min\.js\?m=[0-9a-f]{16}", url)
    with client.get(url) as response:
        assert response.status_code == 200
        assert response.headers["Cache-Control"] == IMMUTABLE
        assert b"plotly.js (cartesian" in response.data[:400]
        # the same bytes for every user: no "Vary: Cookie" (the CSRF cookie changes on every page load, which made
        # the browser fetch the whole file again) and no session cookie refreshed on a static file
        assert "Cookie" not in response.headers.get("Vary", "")
        assert "Set-Cookie" not in response.headers


def test_without_the_vendored_bundle_the_full_one_has_a_versioned_url(
    client: FlaskClient, world: World, tmp_path: Path
) -> None:
    url = plotlyjs_url(tmp_path)  # an assets folder without vendor/: Dash's own plotly.js, fingerprinted
    assert re.fullmatch(r"/_dash-component-suites/plotly/package_data/plotly\.v[\w-]+m\d+\.min\.js", url)
    with client.get(url) as response:  # Dash's files still need a signed-in user
        assert response.status_code == 401
    log_in(client, world.customer.email, world.customer.password)
    with client.get(url) as response:
        assert response.status_code == 200
        assert response.headers["Cache-Control"] == IMMUTABLE
        assert "Cookie" not in response.headers.get("Vary", "") and "Set-Cookie" not in response.headers


def test_only_versioned_files_are_cached_and_pages_are_never_stored(client: FlaskClient, world: World) -> None:
    log_in(client, world.customer.email, world.customer.password)
    with client.get("/assets/csrf.js?m=1700000000.5") as response:  # Dash's asset URL: ?m=<modified>
        assert response.status_code == 200 and response.headers["Cache-Control"] == IMMUTABLE
    with client.get("/assets/csrf.js") as response:  # no version in the URL: the browser must ask again
        assert response.status_code == 200 and response.headers.get("Cache-Control") != IMMUTABLE
    with client.get("/assets/no-such-file.js?m=1") as response:
        assert response.status_code == 404 and response.headers.get("Cache-Control") != IMMUTABLE
    unversioned = "/_dash-component-suites/plotly/package_data/plotly.min.js"
    with client.get(unversioned) as response:
        assert response.status_code == 200 and response.headers.get("Cache-Control") != IMMUTABLE
    page = client.get("/graphs", headers=HTML)
    assert page.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" in page.headers  # pages keep the session (and the CSRF token) fresh
