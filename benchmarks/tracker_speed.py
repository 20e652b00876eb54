"""Time the daily run's tracker step: evaluating 10,000 trackers (target <= 60 s), on SQLite.

Setup (in ``benchmarks/work/tracker_speed.db``, rebuilt each run): the demo (49 sites of 9 organisations, a year
of readings ending Tue 24 Nov 2026) with its site models fitted, as in the tests; then 10,000 active trackers
spread over the demo's customer, broker and admin logins: a third each of day / week / month periods; 80 %
in kWh, 20 % as a percentage above expected; scopes "All sites", one of 20 portfolio groups, or one site.

Timed: :func:`portfolio.services.tracker_evaluation.evaluate_all` for the run of Wed 25 Nov (data day Tue 24),
twice: the first run writes a ledger row for every tracker and queues the notifications (most small amounts
are exceeded or warned); the second is the rerun of the same day (nothing changes, nothing is sent). Both are
the whole step as the pipeline runs it, access re-checked per tracker.

Both wall and CPU time (``time.process_time``) are reported: the machine's 2 cores are shared, so wall time
is noisy and CPU time is the figure to compare between runs.

Run: ``.venv/bin/python benchmarks/run.py tracker_speed`` (or this file directly; ``python tracker_speed.py
1000`` builds 1,000 trackers instead, and ``--profile`` adds the first run's top cProfile entries).
"""

from __future__ import annotations

import cProfile
import datetime as dt
import io
import os
import pstats
import random
import sys
import time
from pathlib import Path
from typing import Any

from memory import peak_rss_mb

HERE = Path(__file__).resolve().parent
WORK = HERE / "work"
DB = WORK / "tracker_speed.db"
TODAY = dt.date(2026, 11, 25)
TRACKERS = 10_000
GROUPS = 20


def _build(trackers: int = TRACKERS) -> tuple[Any, Any, dict[str, Any]]:
    from sqlalchemy import func, select

    from portfolio.access import viewer_for
    from portfolio.config import load_settings
    from portfolio.db import make_engine, make_session_factory
    from portfolio.models import Site, Tracker, TrackerEvaluation, User
    from portfolio.schema import upgrade
    from portfolio.services.demo import load_demo
    from portfolio.services.expected import fit_due_models
    from portfolio.services.groups import create_group, group_site_ids

    WORK.mkdir(exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{DB}{suffix}").unlink(missing_ok=True)
    engine = make_engine(f"sqlite:///{DB}")
    upgrade(engine)
    factory = make_session_factory(engine)
    settings = load_settings(
        {},
        instance_path=WORK / "tracker_speed_instance",
        database_url=f"sqlite:///{DB}",
        secret_key="x",
        smtp_url="smtp://127.0.0.1:9",
        base_url="https://portfolio.example.test",
    )
    began = time.perf_counter()
    load_demo(factory, settings, today=TODAY)
    fit_due_models(factory, now=dt.datetime.combine(TODAY, dt.time(5), dt.UTC))
    setup_s = time.perf_counter() - began
    rng = random.Random(17)
    with factory.begin() as session:
        users = [u for u in session.scalars(select(User).order_by(User.id)) if u.role.value != "account_manager"]
        owners = []
        for user in users:
            viewer = viewer_for(session, user)
            visible = group_site_ids(session, viewer, None)
            if not visible:
                continue
            sites = session.execute(select(Site.id, Site.fuel).where(Site.id.in_(visible))).all()
            groups = [
                create_group(session, viewer, f"bench group {k}", rng.sample(visible, min(len(visible), 5)))
                for k in range(GROUPS // 4)
            ]
            owners.append((user, sites, groups))
        for n in range(trackers):
            user, sites, groups = owners[n % len(owners)]
            site_id, fuel = rng.choice(sites)
            scope = rng.choices(["all", "group", "site"], weights=[2, 3, 5])[0]
            scope_id = None if scope == "all" else site_id if scope == "site" else rng.choice(groups).id
            percent = rng.random() < 0.2
            session.add(
                Tracker(
                    owner_id=user.id,
                    name=f"bench tracker {n}",
                    scope_kind=scope,
                    scope_id=scope_id,
                    fuel=fuel,
                    period=("day", "week", "month")[n % 3],
                    target_kind="percent" if percent else "kwh",
                    target_value=rng.choice([-5, 0, 10, 25]) if percent else rng.choice([50, 500, 5_000, 50_000, 5e5]),
                    is_active=True,
                )
            )
    with factory() as session:
        facts = {
            "trackers": session.scalar(select(func.count()).select_from(Tracker)),
            "owners": len(owners),
            "sites": session.scalar(select(func.count()).select_from(Site)),
            "ledger_rows_before": session.scalar(select(func.count()).select_from(TrackerEvaluation)),
            "setup_s": round(setup_s, 1),
        }
    return factory, settings, facts


def run(trackers: int = TRACKERS, profile: bool = False) -> dict[str, Any]:
    from sqlalchemy import func, select

    from portfolio.models import Notification, OutboxEmail, TrackerEvaluation
    from portfolio.services.tracker_evaluation import evaluate_all

    factory, settings, facts = _build(trackers)
    data_day = TODAY - dt.timedelta(days=1)
    now = dt.datetime.combine(TODAY, dt.time(6), dt.UTC)
    timings = []
    cpu = []
    reports = []
    profiler = cProfile.Profile() if profile else None
    load_before = os.getloadavg()[0]
    for attempt in range(2):
        if profiler is not None and attempt == 0:
            profiler.enable()
        began, began_cpu = time.perf_counter(), time.process_time()
        reports.append(evaluate_all(factory, settings, data_day, now))
        timings.append(time.perf_counter() - began)
        cpu.append(time.process_time() - began_cpu)
        if profiler is not None and attempt == 0:
            profiler.disable()
    with factory() as session:
        counts = {
            "ledger_rows": session.scalar(select(func.count()).select_from(TrackerEvaluation)),
            "notifications": session.scalar(select(func.count()).select_from(Notification)),
            "outbox": session.scalar(select(func.count()).select_from(OutboxEmail)),
        }
    first, second = (r.as_json() for r in reports)
    figures = {
        **facts,
        **counts,
        "first_run_s": round(timings[0], 1),
        "first_run_cpu_s": round(cpu[0], 1),
        "first_run_ms_per_tracker": round(1000 * timings[0] / facts["trackers"], 2),
        "first_run_cpu_ms_per_tracker": round(1000 * cpu[0] / facts["trackers"], 2),
        "rerun_s": round(timings[1], 1),
        "rerun_cpu_s": round(cpu[1], 1),
        "rerun_ms_per_tracker": round(1000 * timings[1] / facts["trackers"], 2),
        "rerun_cpu_ms_per_tracker": round(1000 * cpu[1] / facts["trackers"], 2),
        "trackers_per_s": round(facts["trackers"] / timings[0]),
        "load_average": [round(load_before, 1), round(os.getloadavg()[0], 1)],
        "nproc": os.cpu_count(),
        "first_run": {k: v for k, v in first.items() if k != "errors"} | {"errors": len(first["errors"])},
        "rerun": {k: v for k, v in second.items() if k != "errors"} | {"errors": len(second["errors"])},
        "target_s": 60,
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }
    if profiler is not None:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(45)
        print(out.getvalue(), file=sys.stderr)
    return figures


if __name__ == "__main__":
    import json

    args = [a for a in sys.argv[1:] if a != "--profile"]
    print(json.dumps(run(int(args[0]) if args else TRACKERS, profile="--profile" in sys.argv), indent=2))
