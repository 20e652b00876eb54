"""SQL for aggregate releases: daily consumption per customer (organisation), fuel and site attribute."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portfolio.models import UNASSIGNED_ACCOUNT, DailyUsage, Direction, Organisation, Site

CONTRIBUTION_COLUMNS = ["local_date", "customer_id", "fuel", "attribute", "energy_kwh"]


def load_daily_contributions(session: Session, by: str, start: dt.date, end: dt.date) -> pd.DataFrame:
    """Per local day ``start``..``end``, customer, fuel and ``by`` attribute ("postcode" or "profile_class"): kWh.

    Customers are organisations; the Unassigned queue is no customer and export (generation) meters are not
    consumption, so both are left out. One GROUP BY over the daily roll-up, never the raw readings.
    """
    attribute = {"postcode": Site.postcode, "profile_class": Site.profile_class}[by]
    statement = (
        select(
            DailyUsage.local_date,
            Site.organisation_id,
            Site.fuel,
            attribute,
            func.sum(DailyUsage.energy_kwh),
        )
        .join(Site, Site.id == DailyUsage.site_id)
        .join(Organisation, Organisation.id == Site.organisation_id)
        .where(
            DailyUsage.local_date.between(start, end),
            Organisation.account_number != UNASSIGNED_ACCOUNT,
            Site.direction == Direction.IMPORT,
        )
        .group_by(DailyUsage.local_date, Site.organisation_id, Site.fuel, attribute)
    )
    rows = [
        (day, int(org), getattr(fuel, "value", fuel), attr, float(kwh))
        for day, org, fuel, attr, kwh in session.execute(statement)
    ]
    return pd.DataFrame(rows, columns=CONTRIBUTION_COLUMNS)
