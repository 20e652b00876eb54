"""Measure Green Button Connect My Data: ``GET Batch/Subscription/{id}`` for one site-year of half-hourly data.

The world is N HH sites x 365 days (17,520 readings a site, 2024-01-01..2024-12-30, both clock changes) built by
``export_db_speed.build_database`` into ``benchmarks/work/export_Nx1y.db`` (reused when present). A fresh
subprocess makes a customer of that organisation, an approved application, an authorization over every site for
interval usage (no HistoryLength) and an access token (stored hashed, as ``/oauth/token`` stores it), then asks
the real route on Flask's test client and drains the streamed body, counting IntervalReadings as they arrive.

The first request of the process is reported apart (``cold``: Dash's first-request setup and SQLAlchemy's statement
compilation happen once per worker); then ``REPEATS`` requests are timed and their medians reported. The machine
is shared, so each request is timed twice: wall clock, and CPU time of the process (server and client in one
process: the whole in-process path), which waiting for a busy core does not inflate.

Figures: ``espi_api_readings_per_s`` (contract: >= 100k; wall clock, warm) and ``espi_api_cpu_readings_per_s``;
``espi_api_rss_mb`` the process peak; and per world the RSS growth during the warm requests (the peak, ``VmHWM``,
reset before them through ``/proc/self/clear_refs``, minus the RSS before), which stays flat when the feed streams:
1 site-year and 10 site-years should grow alike.

Run: ``.venv/bin/python benchmarks/espi_api_speed.py`` or through ``benchmarks/run.py espi_api_speed``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from export_db_speed import ACCOUNT, WORK, ensure_sqlite
from memory import peak_rss_mb

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
MERGE_AT_TOP_LEVEL = True
REPEATS = 5
TOKEN = "benchmark-access-token"  # noqa: S105 - a throwaway token in a throwaway database


def _ensure_path() -> None:
    for folder in (str(ROOT), str(ROOT / "src")):
        if folder not in sys.path:
            sys.path.insert(0, folder)


def measure(database_url: str) -> dict[str, Any]:
    """One request, in this (fresh) process: readings/s, peak RSS, and RSS growth while streaming."""
    _ensure_path()
    from sqlalchemy import select

    from portfolio.access import viewer_for
    from portfolio.api.scope import parse_scope
    from portfolio.config import load_settings
    from portfolio.db import make_engine, make_session_factory
    from portfolio.models import OAuthToken, Organisation, Role, ThirdPartyApplication
    from portfolio.services.accounts import create_user
    from portfolio.services.third_parties import authorize, hash_secret, register_application
    from portfolio.web.app import create_app

    settings = load_settings(
        environ={}, database_url=database_url, instance_path=WORK / "instance", secret_key="bench", cookie_secure=False
    )
    engine = make_engine(database_url)
    factory = make_session_factory(engine)
    with factory() as session:
        organisation = session.scalars(select(Organisation).where(Organisation.account_number == ACCOUNT)).one()
        user = create_user(
            session, f"bench-{time.time_ns()}@example.com", Role.CUSTOMER, "bench password 1", organisation=organisation
        )
        session.commit()
        registered = register_application(session, "Benchmark party", ["http://127.0.0.1:9/cb"], approved=True)
        application = session.get(ThirdPartyApplication, registered.application_id)
        authorization = authorize(
            session,
            viewer_for(session, user),
            application,
            parse_scope("FB=4;IntervalDuration=1800;BlockDuration=daily"),
            site_ids=None,
            data_types=["interval_usage"],
            valid_until=None,
            accepted_terms=True,
        )
        token = f"{TOKEN}-{time.time_ns()}"
        session.add(
            OAuthToken(
                authorization_id=authorization.id,
                access_token_hash=hash_secret(token),
                scope=authorization.scope,
                issued_at=int(time.time()),
                expires_in=900,
            )
        )
        session.commit()
        subscription = authorization.uuid
    engine.dispose()
    client = create_app(settings).server.test_client()
    path = f"/espi/1_1/resource/Batch/Subscription/{subscription}"
    query = {"published-min": "2024-01-01T00:00:00Z", "published-max": "2025-01-01T00:00:00Z"}
    headers = {"Authorization": f"Bearer {token}"}
    cold = _request(client, path, query, headers)
    _reset_peak_rss()
    baseline = _current_rss_mb()
    warm = [_request(client, path, query, headers) for _ in range(REPEATS)]
    grown = _peak_rss_mb_since_reset() - baseline
    readings = warm[0]["readings"]
    assert all(run["readings"] == readings and run["bytes"] == warm[0]["bytes"] for run in [cold, *warm])
    wall, cpu = statistics.median(r["wall_s"] for r in warm), statistics.median(r["cpu_s"] for r in warm)
    return {
        "readings": readings,
        "mb": round(warm[0]["bytes"] / 1e6, 1),
        "wall_s": round(wall, 3),
        "cpu_s": round(cpu, 3),
        "readings_per_s": round(readings / wall),
        "cpu_readings_per_s": round(readings / cpu),
        "wall_s_each": [round(r["wall_s"], 3) for r in warm],
        "cold": {
            "wall_s": round(cold["wall_s"], 3),
            "cpu_s": round(cold["cpu_s"], 3),
            "readings_per_s": round(readings / cold["wall_s"]),
            "cpu_readings_per_s": round(readings / cold["cpu_s"]),
        },
        "rss_mb": round(peak_rss_mb(), 1),
        "rss_growth_mb": round(grown, 1),
        "load_average": [round(x, 1) for x in os.getloadavg()],
    }


def _request(client: Any, path: str, query: dict[str, str], headers: dict[str, str]) -> dict[str, Any]:
    """One GET with the body drained as it streams: IntervalReadings and bytes counted, wall and CPU time taken."""
    began, began_cpu = time.perf_counter(), time.process_time()
    response = client.get(path, query_string=query, headers=headers, buffered=False)
    assert response.status_code == 200, response.status
    readings, written, tail = 0, 0, b""
    for block in response.response:
        joined = tail + block
        readings += joined.count(b"<IntervalReading>")
        tail = joined[-20:]
        readings -= tail.count(b"<IntervalReading>")
        written += len(block)
    readings += tail.count(b"<IntervalReading>")
    response.close()
    return {
        "readings": readings,
        "bytes": written,
        "wall_s": time.perf_counter() - began,
        "cpu_s": time.process_time() - began_cpu,
    }


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    return 0


def _current_rss_mb() -> float:
    return _status_kb("VmRSS") / 1024


def _reset_peak_rss() -> None:
    """Start VmHWM afresh from the current RSS (Linux >= 4.0), so the next peak is the requests' own."""
    Path("/proc/self/clear_refs").write_text("5")


def _peak_rss_mb_since_reset() -> float:
    return _status_kb("VmHWM") / 1024


def _in_subprocess(database_url: str) -> dict[str, Any]:
    code = f"import json, espi_api_speed as b; print(json.dumps(b.measure({database_url!r})))"
    done = subprocess.run([sys.executable, "-c", code], cwd=HERE, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def run() -> dict[str, Any]:
    one = _in_subprocess(ensure_sqlite(1))
    ten = _in_subprocess(ensure_sqlite(10))
    return {
        "espi_api_readings_per_s": one["readings_per_s"],
        "espi_api_cpu_readings_per_s": one["cpu_readings_per_s"],
        "espi_api_rss_mb": one["rss_mb"],
        "espi_api": {"one_site_year": one, "ten_site_years": ten, "measured": dt.date.today().isoformat()},
    }


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
