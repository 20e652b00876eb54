"""The SQL behind the overview cards: a week of the daily roll-up per site, and organisation names.

Everything is aggregated in the database from ``daily_usage`` (one row per site and local day), so a card
costs a few index range scans whatever the number of raw readings.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from portfolio.models import DailyUsage, Organisation, Site


def load_week_usage(session: Session, site_ids: Sequence[int], first: dt.date, last: dt.date) -> pd.DataFrame:
    """Per site and local day first..last: site_id, local_date, energy_kwh [kWh], intervals present."""
    columns = ["site_id", "local_date", "energy_kwh", "intervals"]
    if not site_ids:
        return pd.DataFrame(columns=columns)
    statement = select(DailyUsage.site_id, DailyUsage.local_date, DailyUsage.energy_kwh, DailyUsage.intervals).where(
        DailyUsage.site_id.in_([int(s) for s in site_ids]), DailyUsage.local_date.between(first, last)
    )
    frame = pd.DataFrame([tuple(row) for row in session.execute(statement)], columns=columns)
    return frame.astype({"site_id": "int64", "energy_kwh": "float64", "intervals": "int64"})


def load_site_organisations(session: Session, site_ids: Sequence[int]) -> pd.DataFrame:
    """site_id, organisation_id, organisation (name): the broker's cards are one per client organisation."""
    statement = (
        select(Site.id, Organisation.id, Organisation.name)
        .join(Organisation, Organisation.id == Site.organisation_id)
        .where(Site.id.in_([int(s) for s in site_ids]))
    )
    rows = [tuple(row) for row in session.execute(statement)]
    return pd.DataFrame(rows, columns=["site_id", "organisation_id", "organisation"])
