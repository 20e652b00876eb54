"""The demo's Canary Wharf site sends its first day of half hours: a change to usage data that tests can see."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from portfolio.db import transaction
from portfolio.identifiers import mpan_check_digit
from portfolio.ingest.loader import load_parsed
from portfolio.ingest.records import MeterSeries, ParsedFile
from portfolio.models import Meter, Site
from portfolio.timekeeping import local_midnight_ts


def canary_wharf_meter(factory: sessionmaker[Session]) -> str:
    """The identifier of the demo's Canary Wharf meter (a Riverside site that has sent nothing yet)."""
    with factory() as session:
        identifier = session.scalar(select(Meter.identifier).join(Site).where(Site.name.like("Canary Wharf%")))
    assert identifier is not None
    return identifier


def new_meter_identifier(number: int = 1) -> str:
    """A valid MPAN core no demo site has: its first import creates a site (in "Unassigned", which admins see)."""
    first = f"19{number:010d}"
    return first + str(mpan_check_digit(first))


def import_a_day_of_half_hours(factory: sessionmaker[Session], day: dt.date, identifier: str | None = None) -> int:
    """48 half hours of 0.5 kWh (24 kWh) at Canary Wharf (or the meter ``identifier``) on UK local ``day``, imported;
    their first start [s]."""
    first_ts = local_midnight_ts(day, "Europe/London")
    readings = pd.DataFrame(
        {
            "start_ts": first_ts + 1800 * np.arange(48, dtype=np.int64),
            "interval_seconds": np.full(48, 1800, dtype=np.int64),
            "energy_kwh": np.full(48, 0.5),
            "estimated": np.zeros(48, dtype=bool),
            "original_value": np.full(48, np.nan),
            "original_unit": [None] * 48,
        }
    )
    meter = MeterSeries(identifier or canary_wharf_meter(factory), "mpan", "power", readings, meter_type=None)
    with transaction(factory) as session:
        load_parsed(
            session,
            ParsedFile(path="cw.csv", format="hh-csv-long", meters=(meter,)),
            filename="cw.csv",
            sha256="cw" if identifier is None else f"cw-{identifier}",
        )
    return int(first_ts)
