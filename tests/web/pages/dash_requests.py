"""Craft Dash callback requests the way a browser (or an attacker with a session) would send them."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from portfolio.web.security import CSRF_HEADER
from tests.web.browsing import csrf_cookie


def _outputs(output: str) -> list[dict[str, str]]:
    parts = output.strip(".").split("...") if output.startswith("..") else [output]
    return [dict(zip(("id", "property"), part.rsplit(".", 1), strict=True)) for part in parts]


def find_callback(client: FlaskClient, output: str) -> dict[str, Any]:
    """The dependency entry of the callback writing ``output`` (``"component-id.property"``)."""
    for dependency in client.get("/_dash-dependencies").get_json():
        if any(f"{o['id']}.{o['property']}" == output for o in _outputs(dependency["output"])):
            return dependency
    raise AssertionError(f"no callback writes {output}")


def call_callback(
    client: FlaskClient, output: str, values: dict[str, Any], changed: list[str] | None = None
) -> TestResponse:
    """POST /_dash-update-component for the callback writing ``output``; ``values`` maps "id.prop" to a value.

    ``changed`` lists the triggering "id.prop"s; empty means Dash's initial call.
    """
    dependency = find_callback(client, output)

    def fill(items: list[dict[str, str]]) -> list[dict[str, Any]]:
        return [{**item, "value": values.get(f"{item['id']}.{item['property']}")} for item in items]

    outputs = _outputs(dependency["output"])
    body = {
        "output": dependency["output"],
        "outputs": outputs if dependency["output"].startswith("..") else outputs[0],
        "inputs": fill(dependency["inputs"]),
        "state": fill(dependency["state"]),
        "changedPropIds": changed or [],
    }
    return client.post("/_dash-update-component", json=body, headers={CSRF_HEADER: csrf_cookie(client)})


def response_values(response: TestResponse) -> dict[str, dict[str, Any]]:
    """{component id: {property: value}} from a callback response (no_update outputs are absent)."""
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return response.get_json()["response"]
