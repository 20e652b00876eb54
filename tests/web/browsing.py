"""Act like a browser with the Flask test client: fetch forms, sign in, and call Dash callbacks."""

from __future__ import annotations

import base64
import re
from typing import Any

import numpy as np
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from portfolio.web import ids
from portfolio.web.security import CSRF_COOKIE, CSRF_HEADER

HTML = {"Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"}
_CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


def form_token(client: FlaskClient) -> str:
    """Fetch the login form and return its hidden CSRF token."""
    page = client.get("/login")
    match = _CSRF_FIELD.search(page.get_data(as_text=True))
    assert match, "the login form has no csrf_token field"
    return match.group(1)


def log_in(client: FlaskClient, email: str, password: str, next_path: str | None = None) -> TestResponse:
    url = "/login" if next_path is None else f"/login?next={next_path}"
    return client.post(url, data={"email": email, "password": password, "csrf_token": form_token(client)})


def csrf_cookie(client: FlaskClient) -> str:
    cookie = client.get_cookie(CSRF_COOKIE)
    assert cookie is not None, "no CSRF cookie: load a page first"
    return cookie.value


def pages_router_body(client: FlaskClient, pathname: str) -> dict[str, Any]:
    """The body the Dash renderer posts to render the page at ``pathname`` (read from /_dash-dependencies)."""
    dependencies = client.get("/_dash-dependencies").get_json()
    router = next(d for d in dependencies if f"{ids.PAGE_CONTENT}.children" in d["output"])
    return {
        "output": router["output"],
        "outputs": [
            {"id": ids.PAGE_CONTENT, "property": "children"},
            {"id": "_pages_store", "property": "data"},
        ],
        "inputs": [
            {"id": ids.PAGE_LOCATION, "property": "pathname", "value": pathname},
            {"id": ids.PAGE_LOCATION, "property": "search", "value": ""},
        ],
        "changedPropIds": [f"{ids.PAGE_LOCATION}.pathname"],
        "state": [],
    }


def render_page(client: FlaskClient, pathname: str, with_token: bool = True) -> TestResponse:
    """Run the Dash Pages router callback as the browser would, CSRF header included unless told not to."""
    headers = {CSRF_HEADER: csrf_cookie(client)} if with_token else {}
    return client.post("/_dash-update-component", json=pages_router_body(client, pathname), headers=headers)


def plotted_values(values: object) -> list[float | None]:
    """A figure array as the browser reads it: plotly's typed-array form (``{"dtype", "bdata"}``, base64) decoded,
    NaN (a gap) as None; a plain JSON list as it is."""
    if isinstance(values, dict) and "bdata" in values:
        decoded = np.frombuffer(base64.b64decode(values["bdata"]), dtype=np.dtype(values["dtype"]).newbyteorder("<"))
        return [None if v != v else float(v) for v in decoded.tolist()]
    return list(values)  # type: ignore[call-overload]
