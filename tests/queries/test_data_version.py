"""Every writer of what graphs are computed from moves the usage data's version on when its transaction commits.

Kept results (``computed_results``) are keyed by that version: a writer that forgot to move it would let a graph show
coverage computed from older data. One case per writer, on both engines.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import sqlite3
from collections.abc import Callable

import numpy as np
import pandas as pd
import psycopg
import pytest
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from portfolio.db import transaction
from portfolio.ingest.bulk import store_clean_readings
from portfolio.models import Fuel, MeterType, Organisation, Site, SiteExpectedState, SiteModel
from portfolio.queries import enrolment, expected, imports, missing_estimates, retention
from portfolio.queries.data_version import load_usage_version

DAY = dt.date(2026, 3, 2)
DAY_TS = int(dt.datetime(2026, 3, 2, tzinfo=dt.UTC).timestamp())
NOW = dt.datetime(2026, 3, 3, tzinfo=dt.UTC)


def _readings() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "start_ts": DAY_TS + 1800 * np.arange(4, dtype=np.int64),
            "interval_seconds": np.full(4, 1800, dtype=np.int64),
            "energy_kwh": np.full(4, 1.5),
            "estimated": np.zeros(4, dtype=bool),
            "original_value": np.full(4, np.nan),
            "original_unit": [None] * 4,
        }
    )


def _day_rows() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "local_date": [np.datetime64(DAY.isoformat())],
            "energy_kwh": [6.0],
            "intervals": [4],
            "estimated_intervals": [0],
            "interval_seconds": [1800],
        }
    )


def _state(site_id: int) -> SiteExpectedState:
    return SiteExpectedState(site_id=site_id, model_fitted_at=NOW, lo_ts=DAY_TS, hi_ts=DAY_TS + 7200, computed_at=NOW)


WRITERS: dict[str, Callable[[Session, int], object]] = {
    "readings stored": lambda s, site: store_clean_readings(s, site, _readings(), None),
    "daily roll-up inserted": lambda s, site: imports.insert_daily_rows(s, site, _day_rows()),
    "daily roll-up deleted": lambda s, site: imports.delete_rollup_days(
        s, site, np.datetime64(DAY.isoformat()), np.datetime64(DAY.isoformat())
    ),
    "half hours deleted (opt-out)": lambda s, site: enrolment.delete_interval_readings(s, site),
    "predictions replaced": lambda s, site: expected.replace_site_expected(
        s, site, {"hh": DAY_TS}, [(site, "hh", DAY_TS, 1.0, 0.1)], _state(site)
    ),
    "predictions forgotten": lambda s, site: expected.delete_site_expected(s, [site]),
    "model refitted": lambda s, site: expected.save_site_model(
        s, SiteModel(site_id=site, status="insufficient", message="too little data", fitted_at=NOW)
    ),
    "predictions of a resolution dropped": lambda s, site: expected.delete_site_predictions(s, [site], ["hh"]),
    "old predictions pruned": lambda s, site: expected.prune_site_expected(s, DAY_TS),
    "estimates replaced": lambda s, site: missing_estimates.replace_estimates(
        s, [site], DAY, DAY, pd.DataFrame({c: [] for c in missing_estimates.ESTIMATE_COLUMNS})
    ),
    "old estimates pruned": lambda s, site: missing_estimates.prune_estimates(s, DAY),
    "estimates forgotten": lambda s, site: missing_estimates.forget_estimates(s, [site]),
    "rows past retention deleted": lambda s, site: retention.delete_sites_rows_before(
        s, "readings", [site], DAY_TS, DAY
    ),
    "a batch past retention deleted": lambda s, site: retention.delete_site_batch(
        s, "daily_usage", site, DAY_TS, DAY, 100
    ),
}


@pytest.fixture
def site_id(session_factory: sessionmaker[Session]) -> int:
    with transaction(session_factory) as session:
        organisation = Organisation(name="Versions", account_number="VERSIONS-1")
        site = Site(organisation=organisation, name="Versioned", fuel=Fuel.POWER, meter_type=MeterType.HH)
        session.add_all([organisation, site])
        session.flush()
        return site.id


@pytest.mark.parametrize("writer", sorted(WRITERS))
def test_each_writer_moves_the_version_on_when_it_commits(
    session_factory: sessionmaker[Session], site_id: int, writer: str
) -> None:
    with session_factory() as session:
        before = load_usage_version(session)
    with transaction(session_factory) as session:
        WRITERS[writer](session, site_id)
    with session_factory() as session:
        assert load_usage_version(session) == before + 1
    with session_factory() as session:  # the same write rolled back (or failed, as a second roll-up row does)
        with contextlib.suppress(IntegrityError, sqlite3.IntegrityError, psycopg.IntegrityError):
            WRITERS[writer](session, site_id)
        session.rollback()
    with session_factory() as session:
        assert load_usage_version(session) == before + 1
