"""A portfolio export mixing half-hourly and daily meters sums by *local* day (issue 19), on both databases."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from portfolio.ingest.loader import load_parsed
from portfolio.ingest.records import MeterSeries, ParsedFile
from portfolio.models import Meter
from portfolio.queries.exports import iter_portfolio_chunks

LONDON = "Europe/London"


def readings(starts: np.ndarray, seconds: int, kwh: float) -> pd.DataFrame:
    n = len(starts)
    return pd.DataFrame(
        {
            "start_ts": starts.astype(np.int64),
            "interval_seconds": np.full(n, seconds, dtype=np.int64),
            "energy_kwh": np.full(n, kwh),
            "estimated": np.zeros(n, dtype=bool),
            "original_value": np.full(n, np.nan),
            "original_unit": pd.Series([None] * n, dtype=object),
        }
    )


def test_mixed_hh_and_daily_meters_are_summed_per_local_day(session: Session) -> None:
    midnights = np.array([int(pd.Timestamp(f"2024-07-{d:02d}", tz=LONDON).timestamp()) for d in (1, 2)])
    hh = readings(midnights[0] + 1800 * np.arange(96), 1800, 0.5)  # two BST days, 24 kWh each
    daily = readings(midnights, 86400, 10.0)
    meters = (
        MeterSeries("1200023305967", "mpan", "power", hh, time_zone=LONDON),
        MeterSeries("2000000000011", "mpan", "power", daily, time_zone=LONDON),
    )
    load_parsed(session, ParsedFile("mixed.csv", "hh-csv-long", meters), filename="mixed.csv", sha256="0" * 64)
    session.commit()
    site_ids = [int(s) for s in session.scalars(select(Meter.site_id))]
    sites = pd.DataFrame({"site_id": site_ids, "fuel": ["power"] * len(site_ids)})
    chunks = list(iter_portfolio_chunks(session, sites, dt.date(2024, 7, 1), dt.date(2024, 7, 2), LONDON))
    frame = pd.concat(chunks, ignore_index=True)
    assert frame["start_ts"].tolist() == midnights.tolist()  # 23:00 UTC, local midnight, not 00:00 UTC
    assert frame["energy_kwh"].tolist() == [34.0, 34.0]
    assert frame["sites_reporting"].tolist() == [2, 2]
