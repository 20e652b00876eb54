"""Every response says how long the worker spent on it (``Server-Timing``), read back as the benchmark reads it."""

from __future__ import annotations

import time

import flask
from flask.testing import FlaskClient
from sqlalchemy import text

from portfolio.web.context import request_session
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
        assert set(timings) == {"app", "cpu", "db"}
        assert timings["app"] >= 0 and timings["cpu"] >= 0 and timings["db"] >= 0
        assert timings["cpu"] <= timings["app"] + 1.0  # one thread's CPU cannot outrun the wall clock
        assert timings["db"] <= timings["app"] + 1.0  # the request's statements ran within it


def test_the_worker_time_covers_the_request_hooks(client: FlaskClient, world: World) -> None:
    """A slow request hook shows in ``app`` (waiting, not CPU): the span starts before the other hooks."""

    @client.application.before_request
    def _slow() -> None:
        time.sleep(0.05)

    timings = _timings(client.get("/healthz").headers.get("Server-Timing"))
    assert timings["app"] >= 50
    assert timings["cpu"] < timings["app"] - 25  # sleeping costs no CPU


def test_the_databases_time_is_told_apart(client: FlaskClient, world: World) -> None:
    """A request waiting 50 ms for a statement shows it in ``db`` (not CPU), and only that request."""

    @client.application.before_request
    def _slow_statement() -> None:
        if flask.request.path != "/healthz":
            return
        session = request_session()
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text("SELECT pg_sleep(0.05)"))
        else:  # SQLite has no sleep: a function of this connection's that waits
            session.connection().connection.driver_connection.create_function(  # type: ignore[union-attr]
                "pause_ms", 1, lambda ms: time.sleep(ms / 1000) or 0
            )
            session.execute(text("SELECT pause_ms(50)"))

    timings = _timings(client.get("/healthz").headers.get("Server-Timing"))
    assert timings["db"] >= 50 and timings["app"] >= timings["db"]
    assert timings["cpu"] < timings["app"] - 25  # waiting for the database costs no CPU
    assert _timings(client.get("/login").headers.get("Server-Timing"))["db"] < 50  # nothing carried over


def test_server_timing_headers_are_parsed_by_metric_and_bad_parts_skipped() -> None:
    header = 'app;dur=12.5;desc="in the worker", cpu;dur=3, db;desc="no duration", x;dur=oops, ;dur=4'
    assert parse_server_timing(header) == {"app": 12.5, "cpu": 3.0}
    assert parse_server_timing("") == {}
