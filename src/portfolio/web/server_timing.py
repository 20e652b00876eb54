"""``Server-Timing`` on every response: how long the worker spent on the request, and how much of that was its CPU.

A browser shows these in its developer tools next to the request, and ``benchmarks/page_speed.py`` reads them to tell
the server's own time from the time a request waited for a free worker or core. ``app``: wall time [ms] from the
first request hook to the response being handed back (a streamed body's later chunks not included); ``cpu``: this
thread's CPU time [ms] over the same span, so time spent waiting for the database in another process, for the GIL or
for a core shows as ``app`` minus ``cpu``. Durations only: nothing about the data or the user.
"""

from __future__ import annotations

import time

from flask import Flask, Response, g

STARTED = "server_timing_started"


def _start() -> None:
    setattr(g, STARTED, (time.perf_counter(), time.thread_time()))


def _add_header(response: Response) -> Response:
    started: tuple[float, float] | None = getattr(g, STARTED, None)
    if started is not None:
        wall_ms = (time.perf_counter() - started[0]) * 1000
        cpu_ms = (time.thread_time() - started[1]) * 1000
        response.headers["Server-Timing"] = f'app;dur={wall_ms:.1f};desc="in the worker", cpu;dur={cpu_ms:.1f}'
    return response


def install_server_timing(server: Flask) -> None:
    """Register first, so the span starts before every other hook and ends after every other one."""
    server.before_request(_start)
    server.after_request(_add_header)  # after_request hooks run in reverse: registered first, it runs last


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
