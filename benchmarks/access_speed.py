"""Measure the access policy check per request for a broker holding 1,000 grants.

The database holds 1,000 client organisations with 3 sites each (3,000 sites) and 1,000 active grants to one
broker: 800 over all of a client's sites and 200 over chosen sites (two of three), with mixed data types and
rights; plus 4,000 grants to other people and 1,000 revoked or expired ones, so the grantee indexes matter.
The policy check is what every page, callback and export does first, timed in a fresh session after the user's
own look-up: :func:`viewer_for` (the broker's active grants read from the database, nothing cached), then
:func:`require_sites` for one site and for a 50-site group. Each engine is measured over 300 requests after 20
warm-up ones; wall-clock p50/p95 and the process CPU time per check (the cost on a shared, loaded machine,
whose load average is recorded too).

Run: ``.venv/bin/python benchmarks/access_speed.py``. Target: access_check_p95_ms < 5 on both engines.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Engine, func, insert, select, text
from sqlalchemy.orm import Session

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORK = HERE / "work"
CLIENTS = 1_000
SITES_PER_CLIENT = 3
OTHER_GRANTS = 4_000
LAPSED_GRANTS = 1_000
WARMUP = 20
RUNS = 300
NOW = dt.datetime(2026, 12, 4, 12, tzinfo=dt.UTC)
BROKER_EMAIL = "broker@bench.example"


def _build(engine: Engine) -> None:
    """Create the schema and fill it, unless a previous run already did (the SQLite file is reused)."""
    from portfolio.models import (
        Fuel,
        Grant,
        GranteeKind,
        MeterType,
        Organisation,
        Right,
        Role,
        Site,
        User,
        grant_sites,
    )
    from portfolio.schema import upgrade

    upgrade(engine)
    with Session(engine) as session:
        if session.scalar(select(func.count()).select_from(Grant)) == CLIENTS + OTHER_GRANTS + LAPSED_GRANTS:
            return
        rng = random.Random(13)
        clients = [Organisation(name=f"Client {n:04d}", account_number=f"AC-{n:04d}") for n in range(CLIENTS)]
        session.add_all(clients)
        session.flush()
        session.execute(
            insert(Site),
            [
                {
                    "organisation_id": c.id,
                    "name": f"Client {c.id} site {k}",
                    "time_zone": "Europe/London",
                    "fuel": Fuel.POWER,
                    "meter_type": MeterType.HH,
                }
                for c in clients
                for k in range(SITES_PER_CLIENT)
            ],
        )
        sites_of: dict[int, list[int]] = {}
        for site_id, organisation_id in session.execute(select(Site.id, Site.organisation_id)):
            sites_of.setdefault(organisation_id, []).append(site_id)
        broker = User(email=BROKER_EMAIL, password_hash="x", role=Role.BROKER)
        others = [User(email=f"person{n}@bench.example", password_hash="x", role=Role.CUSTOMER) for n in range(200)]
        session.add_all([broker, *others])
        session.flush()
        start = NOW - dt.timedelta(days=30)

        def grant(organisation_id: int, user_id: int, **extra: Any) -> dict[str, Any]:
            return {
                "organisation_id": organisation_id,
                "grantee_kind": GranteeKind.BROKER,
                "grantee_user_id": user_id,
                "all_sites": True,
                "interval_usage": True,
                "daily_totals": True,
                "site_details": True,
                "rights": Right.MANAGE,
                "valid_from": start,
                "valid_until": None,
                "revoked_at": None,
                **extra,
            }

        rows = []
        for n, client in enumerate(clients):
            chosen = n % 5 == 0
            rows.append(
                grant(
                    client.id,
                    broker.id,
                    all_sites=not chosen,
                    site_details=n % 2 == 0,
                    rights=Right.READ if n % 7 == 0 else Right.MANAGE,
                    valid_until=NOW + dt.timedelta(days=365) if n % 3 == 0 else None,
                )
            )
        for _ in range(OTHER_GRANTS):
            rows.append(grant(rng.choice(clients).id, rng.choice(others).id, grantee_kind=GranteeKind.PERSON))
        for n in range(LAPSED_GRANTS):
            lapsed = {"revoked_at": start} if n % 2 else {"valid_until": start + dt.timedelta(days=1)}
            rows.append(grant(rng.choice(clients).id, broker.id, **lapsed))
        session.execute(insert(Grant), rows)
        chosen_grants = session.execute(select(Grant.id, Grant.organisation_id).where(Grant.all_sites.is_(False))).all()
        session.execute(
            insert(grant_sites),
            [{"grant_id": g, "site_id": s} for g, o in chosen_grants for s in sites_of[o][:2]],
        )
        session.commit()


def _measure(engine: Engine) -> dict[str, float]:
    """p50 / p95 [ms] of one request's policy check (fresh session, viewer_for, require_sites x2)."""
    from portfolio.access import DataType, require_sites, viewer_for, visible_site_ids
    from portfolio.models import User

    with Session(engine) as session:
        broker = session.scalar(select(User).where(User.email == BROKER_EMAIL))
        assert broker is not None
        viewer = viewer_for(session, broker, NOW)
        assert len(viewer.grant_ids) == CLIENTS, len(viewer.grant_ids)
        visible = sorted(visible_site_ids(session, viewer, DataType.INTERVAL_USAGE))
    rng = random.Random(5)
    timings: list[float] = []
    cpu: list[float] = []
    load_before = os.getloadavg()[0]
    for run in range(WARMUP + RUNS):
        one = rng.choice(visible)
        group = rng.sample(visible, 50)
        with Session(engine) as session:
            user = session.get(User, broker.id)  # the login machinery's own look-up, not the policy's
            assert user is not None
            began, began_cpu = time.perf_counter(), time.process_time()
            viewer = viewer_for(session, user, NOW)
            require_sites(session, viewer, [one], DataType.INTERVAL_USAGE)
            require_sites(session, viewer, group, DataType.INTERVAL_USAGE)
            elapsed, elapsed_cpu = time.perf_counter() - began, time.process_time() - began_cpu
        if run >= WARMUP:
            timings.append(elapsed * 1000)
            cpu.append(elapsed_cpu * 1000)
    return {
        "p50_ms": round(float(np.percentile(timings, 50)), 2),
        "p95_ms": round(float(np.percentile(timings, 95)), 2),
        "cpu_mean_ms": round(float(np.mean(cpu)), 2),
        "load_average": round((load_before + os.getloadavg()[0]) / 2, 1),
        "visible_sites": len(visible),
    }


MERGE_AT_TOP_LEVEL = True  # names its own keys


def run() -> dict[str, Any]:
    sys.path.insert(0, str(ROOT))
    from tests.pg_server import PostgresServer

    from portfolio.db import make_engine

    WORK.mkdir(exist_ok=True)
    figures: dict[str, dict[str, float]] = {}
    engine = make_engine(f"sqlite:///{WORK / 'access_speed.db'}")
    _build(engine)
    figures["sqlite"] = _measure(engine)
    engine.dispose()

    server = PostgresServer.start()
    try:
        admin = make_engine(server.admin_url).execution_options(isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text("CREATE DATABASE access_speed"))
        admin.dispose()
        engine = make_engine(server.url("access_speed"))
        _build(engine)
        with engine.connect() as connection:
            connection.execute(text("ANALYZE"))
            connection.commit()
        figures["postgresql"] = _measure(engine)
        engine.dispose()
    finally:
        server.stop()
    return {
        "access_check_p95_ms": {engine: f["p95_ms"] for engine, f in figures.items()},
        "access_check": {
            "shape": f"broker with {CLIENTS} active grants ({CLIENTS // 5} over chosen sites), "
            f"{CLIENTS * SITES_PER_CLIENT} sites, {OTHER_GRANTS} other and {LAPSED_GRANTS} lapsed grants",
            "request": "viewer_for + require_sites(1 site) + require_sites(50 sites), fresh session",
            **{f"{engine}_{key}": value for engine, f in figures.items() for key, value in f.items()},
        },
    }


if __name__ == "__main__":
    print(run())
