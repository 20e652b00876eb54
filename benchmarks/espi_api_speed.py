"""Measure Green Button Connect My Data: ``GET Batch/Subscription/{id}`` for one site-year of half-hourly data.

The world is one HH site x 365 days (17,520 readings, 2024-01-01..2024-12-30, both clock changes) built by
``export_db_speed.build_database`` into ``benchmarks/work/export_1x1y.db`` (reused when present). A fresh
subprocess makes a customer of that organisation, an approved application, an authorization over every site for
interval usage (no HistoryLength) and an access token (stored hashed, as ``/oauth/token`` stores it), then asks
the real route on Flask's test client and drains the streamed body, counting IntervalReadings as they arrive.

Figures: ``espi_api_readings_per_s`` (contract: >= 100k), its peak RSS, and the RSS growth during the request
for 1 and for 4 site-years, which is flat when the feed streams (memory does not grow with the data).

Run: ``.venv/bin/python benchmarks/espi_api_speed.py`` or through ``benchmarks/run.py espi_api_speed``.
"""

from __future__ import annotations

import datetime as dt
import json
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
    baseline = _current_rss_mb()
    began = time.perf_counter()
    response = client.get(path, query_string=query, headers={"Authorization": f"Bearer {token}"}, buffered=False)
    assert response.status_code == 200, response.status
    readings, written, grown, tail = 0, 0, 0.0, b""
    for block in response.response:
        joined = tail + block
        readings += joined.count(b"<IntervalReading>")
        tail = joined[-20:]
        readings -= tail.count(b"<IntervalReading>")
        written += len(block)
        grown = max(grown, _current_rss_mb() - baseline)
    readings += tail.count(b"<IntervalReading>")
    response.close()
    seconds = time.perf_counter() - began
    return {
        "readings": readings,
        "seconds": round(seconds, 2),
        "readings_per_s": round(readings / seconds),
        "mb": round(written / 1e6, 1),
        "rss_mb": round(peak_rss_mb(), 1),
        "rss_growth_mb": round(grown, 1),
    }


def _current_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _in_subprocess(database_url: str) -> dict[str, Any]:
    code = f"import json, espi_api_speed as b; print(json.dumps(b.measure({database_url!r})))"
    done = subprocess.run([sys.executable, "-c", code], cwd=HERE, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def run() -> dict[str, Any]:
    one = _in_subprocess(ensure_sqlite(1))
    four = _in_subprocess(ensure_sqlite(4))
    return {
        "espi_api_readings_per_s": one["readings_per_s"],
        "espi_api_rss_mb": one["rss_mb"],
        "espi_api": {"one_site_year": one, "four_site_years": four, "measured": dt.date.today().isoformat()},
    }


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
