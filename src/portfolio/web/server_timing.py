"""``Server-Timing`` on every response: how long the worker spent on the request, how much of that was its CPU, and
how much it waited for the database.

A browser shows these in its developer tools next to the request, and ``benchmarks/page_speed.py`` and
``benchmarks/load.py`` read them to tell the server's own time from the time a request waited for a free worker or
core. ``app``: wall time [ms] from the first request hook to the response being handed back (a streamed body's later
chunks not included); ``cpu``: this thread's CPU time [ms] over the same span; ``db``: wall time [ms] of this
request's SQL statements, from sending each to having its rows (the database's own work, and its wait for a core, in
another process). What is left of ``app`` after ``cpu`` and ``db`` is time this thread was ready but not running:
waiting for the GIL (another thread of the worker) or for a core. Durations only: nothing about the data or the user.
"""

from __future__ import annotations

import time
from contextvars import ContextVar
from typing import Any

from flask import Flask, Response, g
from sqlalchemy import event
from sqlalchemy.engine import Engine

STARTED = "server_timing_started"
_DB_SECONDS: ContextVar[list[float] | None] = ContextVar("server_timing_db_seconds", default=None)
"""[s] of SQL so far in this request (a list, so the listeners add to it in place); None outside a request."""
_STATEMENT_STARTED = "server_timing_statement_started"


def _start() -> None:
    setattr(g, STARTED, (time.perf_counter(), time.thread_time(), _DB_SECONDS.set([0.0])))


def _add_header(response: Response) -> Response:
    started: tuple[float, float, Any] | None = getattr(g, STARTED, None)
    if started is not None:
        wall_ms = (time.perf_counter() - started[0]) * 1000
        cpu_ms = (time.thread_time() - started[1]) * 1000
        db_ms = (_DB_SECONDS.get() or [0.0])[0] * 1000
        _DB_SECONDS.reset(started[2])
        response.headers["Server-Timing"] = (
            f'app;dur={wall_ms:.1f};desc="in the worker", cpu;dur={cpu_ms:.1f}, db;dur={db_ms:.1f}'
        )
    return response


def _statement_starts(conn: Any, cursor: Any, statement: Any, parameters: Any, context: Any, executemany: Any) -> None:
    if _DB_SECONDS.get() is not None:
        conn.info[_STATEMENT_STARTED] = time.perf_counter()


def _statement_ends(conn: Any, cursor: Any, statement: Any, parameters: Any, context: Any, executemany: Any) -> None:
    spent = _DB_SECONDS.get()
    began = conn.info.pop(_STATEMENT_STARTED, None)
    if spent is not None and began is not None:
        spent[0] += time.perf_counter() - began


def install_server_timing(server: Flask) -> None:
    """Register first, so the span starts before every other hook and ends after every other one; time every SQL
    statement run while a request is served (once per process, whatever the engine)."""
    server.before_request(_start)
    server.after_request(_add_header)  # after_request hooks run in reverse: registered first, it runs last
    if not event.contains(Engine, "before_cursor_execute", _statement_starts):
        event.listen(Engine, "before_cursor_execute", _statement_starts)
        event.listen(Engine, "after_cursor_execute", _statement_ends)


def parse_server_timing(header: str) -> dict[str, float]:
    """The durations [ms] of a ``Server-Timing`` header by metric name (``{"app": 12.3, "cpu": 8.1}``)."""
    durations: dict[str, float] = {}
    for metric in header.split(","):
        name, *params = (part.strip() for part in metric.split(";"))
        for param in params:
            key, _, value = param.partition("=")
            if key.strip() == "dur" and name:
                try:
                    durations[name] = float(value)
                except ValueError:
                    continue
    return durations
