"""The Dash config each page carries is the same whoever asked a worker first (pages' layouts depend on the viewer)."""

from __future__ import annotations

import json
import re

import dash

from tests.web.browsing import HTML, log_in
from tests.web.world import World

CONFIG = re.compile(r'<script id="_dash-config" type="application/json">(.*?)</script>', re.S)


def _config(app: dash.Dash, email: str, password: str) -> dict[str, object]:
    client = app.server.test_client()
    assert log_in(client, email, password).status_code == 303
    page = client.get("/graphs", headers=HTML)
    assert page.status_code == 200
    found = CONFIG.search(page.get_data(as_text=True))
    assert found is not None, "no Dash config in the page"
    config: dict[str, object] = json.loads(found.group(1))
    return config


def test_a_worker_first_asked_by_a_customer_sends_an_admin_the_same_config(app: dash.Dash, world: World) -> None:
    """Dash builds a validation layout from every page's layout at a worker's first request, as that request's viewer
    sees them; a customer's first request left the admin pages' ids out, and an admin's browser then logged an error
    for each admin callback. None is built or sent: callbacks are checked on the server."""
    customer = _config(app, world.customer.email, world.customer.password)  # this worker's first page
    admin = _config(app, world.admin.email, world.admin.password)
    assert "validation_layout" not in customer and "validation_layout" not in admin
    assert customer["suppress_callback_exceptions"] is True
    assert set(customer) == set(admin)  # the same settings (values such as the session's end id are per user)
