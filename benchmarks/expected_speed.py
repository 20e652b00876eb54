"""Time the precomputed expected series for 1,000 sites: the batch refresh, and the graphs that read it.

Works on a copy of ``graph_speed``'s 1,000-site SQLite database (``benchmarks/work/graph_speed.db``, 1,000
half-hourly LCL-profile sites x 2013, 20 organisations of 50 sites, one broker linked to all 20, a group of
all 1,000; built by ``graph_speed.py`` when missing), so that benchmark's figures keep their meaning. In the
copy (``work/expected_speed.db``, kept between runs) it adds an admin and fits the 1,000 site models once
(timed). Then, each in a fresh process so peak RSS is its own:

- the refresh: :func:`portfolio.services.expected_series.refresh_expected_series` at 2014-01-01 12:00 UTC (window
  2012-11-27 to 2014-01-08 local; temperatures exist for 2013) with the live limit of 100, twice (the
  first writes into an empty table, the second replaces every scope: the daily case). Scopes: "all", the
  20 organisations (the broker's union has 1,000 sites) and the group: 22 series;
- graphs: :func:`portfolio.services.graphs.make_graph` + ``plotly.io.to_json``, 30 runs per view (first 2
  dropped), for the admin's "All sites" (scope "all"), year / month / week, with the expected line read from
  the table; the same view with the expected line switched off (reference); the broker's "All sites" (a sum
  over 20 organisation scopes); and the summary panel (:func:`make_expected`) for the admin.

Run: ``.venv/bin/python benchmarks/run.py expected_speed`` (or this file directly). Targets: graph p95 < 300 ms
per view with the expected line (the graph target of issue #5); the refresh well inside the daily run.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from memory import peak_rss_mb

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORK = HERE / "work"
SOURCE = WORK / "graph_speed.db"
COPY = WORK / "expected_speed.db"
NOW = dt.datetime(2014, 1, 1, 12, tzinfo=dt.UTC)
END = dt.date(2013, 12, 31)
VIEWS = {"year": 365, "month": 30, "week": 7}
RUNS = 30
ADMIN = "bench-admin@example.com"
BROKER = "bench-broker@example.com"


def _prepare() -> dict[str, Any]:
    """Copy graph_speed's database (building it if needed), add an admin, fit the models once."""
    from sqlalchemy import func, select
    from sqlalchemy.orm import Session

    from portfolio.db import make_engine, make_session_factory
    from portfolio.models import Role, SiteModel
    from portfolio.schema import upgrade
    from portfolio.services.accounts import create_user, find_user
    from portfolio.services.expected import fit_due_models

    if not COPY.exists():
        if not SOURCE.exists():
            import graph_speed

            engine = make_engine(f"sqlite:///{SOURCE}")
            graph_speed._build(engine, WORK / "graph_speed_parquet")
            engine.dispose()
        shutil.copy(SOURCE, COPY)
    engine = make_engine(f"sqlite:///{COPY}")
    upgrade(engine)
    factory = make_session_factory(engine)
    facts: dict[str, Any] = {}
    with Session(engine) as session:
        if find_user(session, ADMIN) is None:
            create_user(session, ADMIN, Role.ADMIN.value, "bench-password-1")
            session.commit()
        fitted = session.scalar(select(func.count()).select_from(SiteModel))
    if fitted != 1000:
        began = time.perf_counter()
        report = fit_due_models(factory, now=NOW, force=True, store_predictions=False)
        facts["fit_seconds_1000_sites"] = round(time.perf_counter() - began, 1)
        facts["fit_report"] = {k: v for k, v in report.as_json().items() if k != "errors"}
    engine.dispose()
    return facts


def refresh() -> dict[str, Any]:
    """In this fresh process: store every site's predictions whole (as after fitting all 1,000), then two daily runs.

    The daily case: the next day, a seventh of the models refitted (weekly refits) and recomputed whole, the other
    sites over the recent days and the forecast only; then the scope sums rebuilt in SQL. Each timed.
    """
    from sqlalchemy import update

    from portfolio.db import make_engine, make_session_factory, transaction
    from portfolio.models import SiteModel
    from portfolio.services.expected_series import refresh_expected_series

    engine = make_engine(f"sqlite:///{COPY}")
    factory = make_session_factory(engine)
    seconds, reports = {}, {}
    for name, moment, full in (("whole", NOW, True), ("daily", NOW + dt.timedelta(days=1), False)):
        if name == "daily":
            with transaction(factory) as session:  # the weekly refits due today
                session.execute(update(SiteModel).where(SiteModel.site_id % 7 == 0).values(fitted_at=moment))
        began = time.perf_counter()
        reports[name] = refresh_expected_series(factory, moment, full=full).as_json()
        seconds[name] = round(time.perf_counter() - began, 1)
    engine.dispose()
    return {
        "refresh_seconds": seconds,
        "reports": {name: {k: v for k, v in r.items() if k != "errors"} for name, r in reports.items()},
        "errors": reports["daily"]["errors"][:3],
        "refresh_rss_mb": round(peak_rss_mb(), 1),
    }


def _time_views(engine: Any, email: str, group: str, *, expected: bool = True) -> dict[str, Any]:
    import plotly.io as pio
    from sqlalchemy.orm import Session

    from portfolio.access import viewer_for
    from portfolio.services import graphs as graph_service
    from portfolio.services.accounts import find_user
    from portfolio.services.graphs import GraphRequest, make_graph

    original = graph_service.make_expected_series
    if not expected:
        graph_service.make_expected_series = lambda *args, **kwargs: (None, "")  # type: ignore[assignment]
    p95s, medians, notes = {}, {}, {}
    try:
        for view, days in VIEWS.items():
            request = GraphRequest(group, None, END - dt.timedelta(days=days - 1), END, "power")
            timings = []
            for _ in range(RUNS):
                began = time.perf_counter()
                with Session(engine) as session:
                    viewer = viewer_for(session, find_user(session, email))  # type: ignore[arg-type]
                    result = make_graph(session, viewer, request, now=NOW)
                    pio.to_json(result.figure)
                timings.append((time.perf_counter() - began) * 1000)
            medians[view] = round(float(np.median(timings[2:])), 1)
            p95s[view] = round(float(np.percentile(timings[2:], 95)), 1)
            notes[view] = result.note.split(" · ")[-1]
            if expected:
                assert any(t.name == "Expected (temperature model)" for t in result.figure.data), result.note
    finally:
        graph_service.make_expected_series = original
    return {"p95": p95s, "median": medians, "note": notes}


def _time_panel(engine: Any) -> dict[str, Any]:
    from sqlalchemy.orm import Session

    from portfolio.access import viewer_for
    from portfolio.services.accounts import find_user
    from portfolio.services.graphs import GraphRequest
    from portfolio.web.views.graphs import make_expected

    request = GraphRequest("all", None, END - dt.timedelta(days=29), END, "power")
    timings = []
    for _ in range(12):
        began = time.perf_counter()
        with Session(engine) as session:
            viewer = viewer_for(session, find_user(session, ADMIN))  # type: ignore[arg-type]
            panel = make_expected(session, viewer, request, now=NOW)
        timings.append((time.perf_counter() - began) * 1000)
    assert "Expected next 7 days" in json.dumps(panel.to_plotly_json(), default=str)
    return {"p95": round(float(np.percentile(timings[2:], 95)), 1), "median": round(float(np.median(timings[2:])), 1)}


def measure() -> dict[str, Any]:
    """In this fresh process: time the graph views that read the table, and the summary panel."""
    from portfolio.db import make_engine

    engine = make_engine(f"sqlite:///{COPY}")
    results = {
        "all_with_expected": _time_views(engine, ADMIN, "all"),
        "all_without_expected": _time_views(engine, ADMIN, "all", expected=False),
        "broker_all_sites_with_expected": _time_views(engine, BROKER, "all"),
        "panel_admin_all_ms": _time_panel(engine),
    }
    engine.dispose()
    results["graph_rss_mb"] = round(peak_rss_mb(), 1)
    return results


def _in_subprocess(flag: str) -> dict[str, Any]:
    output = subprocess.run(
        [sys.executable, __file__, flag], check=True, capture_output=True, text=True, cwd=ROOT
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def run() -> dict[str, Any]:
    for directory in (ROOT, HERE):
        if str(directory) not in sys.path:
            sys.path.insert(0, str(directory))
    WORK.mkdir(exist_ok=True)
    prepared = _prepare()
    refreshed = _in_subprocess("--refresh")
    graphs = _in_subprocess("--measure")
    return {
        **prepared,
        "refresh_seconds_1000_sites": refreshed["refresh_seconds"],
        "refresh_reports": refreshed["reports"],
        "refresh_errors": refreshed["errors"],
        "refresh_rss_mb": refreshed["refresh_rss_mb"],
        "graph_p95_ms": graphs["all_with_expected"]["p95"],
        "graph_median_ms": graphs["all_with_expected"]["median"],
        "graph_without_expected_p95_ms": graphs["all_without_expected"]["p95"],
        "broker_graph_p95_ms": graphs["broker_all_sites_with_expected"]["p95"],
        "panel_ms": graphs["panel_admin_all_ms"],
        "graph_rss_mb": graphs["graph_rss_mb"],
        "notes": graphs["all_with_expected"]["note"],
        "shape": "1,000 HH sites x 2013 (graph_speed's database), SQLite; scope 'all' as admin; scope sums over 100 sites",
    }


if __name__ == "__main__":
    for directory in (ROOT, HERE):
        if str(directory) not in sys.path:
            sys.path.insert(0, str(directory))
    if len(sys.argv) == 2 and sys.argv[1] == "--refresh":
        print(json.dumps(refresh()))
    elif len(sys.argv) == 2 and sys.argv[1] == "--measure":
        print(json.dumps(measure()))
    else:
        print(json.dumps(run(), indent=2))
