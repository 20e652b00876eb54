"""Every response says how long the worker spent on it (``Server-Timing``), read back as the benchmark reads it."""

from __future__ import annotations

import time

from flask.testing import FlaskClient

from portfolio.web.server_timing import parse_server_timing
from tests.web.browsing import log_in
from tests.web.world import World


def _timings(response_header: str | None) -> dict[str, float]:
    assert response_header, "the response carries Server-Timing"
    return parse_server_timing(response_header)


def test_pages_refusals_and_callbacks_carry_the_workers_time(client: FlaskClient, world: World) -> None:
    anonymous = client.get("/graphs")  # refused before any page work: still timed
    assert anonymous.status_code in (302, 401)
    log_in(client, world.customer.email, world.customer.password)
    bad_callback = client.post("/_dash-update-component", json={"output": "nope.children"})
    assert bad_callback.status_code == 400
    for response in (anonymous, client.get("/graphs"), bad_callback, client.get("/healthz")):
        timings = _timings(response.headers.get("Server-Timing"))
        assert set(timings) == {"app", "cpu"}
        assert timings["app"] >= 0 and timings["cpu"] >= 0
        assert timings["cpu"] <= timings["app"] + 1.0  # one thread's CPU cannot outrun the wall clock


def test_the_worker_time_covers_the_request_hooks(client: FlaskClient, world: World) -> None:
    """A slow request hook shows in ``app`` (waiting, not CPU): the span starts before the other hooks."""

    @client.application.before_request
    def _slow() -> None:
        time.sleep(0.05)

    timings = _timings(client.get("/healthz").headers.get("Server-Timing"))
    assert timings["app"] >= 50
    assert timings["cpu"] < timings["app"] - 25  # sleeping costs no CPU


def test_server_timing_headers_are_parsed_by_metric_and_bad_parts_skipped() -> None:
    header = 'app;dur=12.5;desc="in the worker", cpu;dur=3, db;desc="no duration", x;dur=oops, ;dur=4'
    assert parse_server_timing(header) == {"app": 12.5, "cpu": 3.0}
    assert parse_server_timing("") == {}
