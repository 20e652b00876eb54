"""Consumption roll-ups for lists and totals, aggregated in the database."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pandas as pd
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from portfolio.models import DailyUsage, Organisation, Reading, Site

# Typical interval by meter type, for sites with no readings in a range (coverage is 0 either way).
DEFAULT_INTERVAL_SECONDS = {"hh": 1800, "smart": 1800, "amr": 3600}


def load_usage_totals(session: Session, site_ids: Sequence[int], start: dt.date, end: dt.date) -> pd.DataFrame:
    """Per site over local days ``start``..``end``: energy [kWh], intervals present, shortest interval [s].

    One GROUP BY over the daily roll-up, never the raw readings.
    """
    statement = (
        select(
            DailyUsage.site_id,
            func.sum(DailyUsage.energy_kwh).label("energy_kwh"),
            func.sum(DailyUsage.intervals).label("intervals"),
            func.sum(DailyUsage.estimated_intervals).label("estimated_intervals"),
            func.min(DailyUsage.interval_seconds).label("interval_seconds"),
        )
        .where(DailyUsage.site_id.in_(list(site_ids)), DailyUsage.local_date.between(start, end))
        .group_by(DailyUsage.site_id)
    )
    rows = session.execute(statement).all()
    return pd.DataFrame(
        rows, columns=["site_id", "energy_kwh", "intervals", "estimated_intervals", "interval_seconds"]
    ).astype(
        {
            "site_id": "int64",
            "energy_kwh": "float64",
            "intervals": "int64",
            "estimated_intervals": "int64",
            "interval_seconds": "float64",
        }
    )


def load_list_sites(session: Session, site_ids: Sequence[int]) -> pd.DataFrame:
    """Site facts for the list view, with the UTC time of each site's last reading ever (NaT if none) and the site's
    organisation (its name, and its id for the audit of who looked).

    The last reading is a correlated MAX on the (site_id, start_ts) key: one index seek per site.
    """
    return load_list_sites_where(session, Site.id.in_(list(site_ids)))


def load_list_sites_where(session: Session, condition: ColumnElement[bool]) -> pd.DataFrame:
    """:func:`load_list_sites` for every site meeting ``condition`` (``services.groups.group_site_condition``): the
    sites and their facts in one query, not their ids first."""
    last_ts = select(func.max(Reading.start_ts)).where(Reading.site_id == Site.id).scalar_subquery()
    statement = (
        select(
            Site.id,
            Site.name,
            Site.postcode,
            Site.fuel,
            Site.meter_type,
            Site.time_zone,
            last_ts.label("last_ts"),
            Organisation.name.label("organisation"),
            Site.organisation_id,
        )
        .join(Organisation, Organisation.id == Site.organisation_id)
        .where(condition)
    )
    rows = session.execute(statement).all()
    frame = pd.DataFrame(
        [
            (
                r.id,
                r.name,
                r.postcode,
                r.fuel.value,
                r.meter_type.value,
                r.time_zone,
                r.last_ts,
                r.organisation,
                r.organisation_id,
            )
            for r in rows
        ],
        columns=[
            "site_id",
            "name",
            "postcode",
            "fuel",
            "meter_type",
            "time_zone",
            "last_ts",
            "organisation",
            "organisation_id",
        ],
    )
    frame["interval_seconds"] = frame["meter_type"].map(DEFAULT_INTERVAL_SECONDS).astype("float64")
    frame["last_reading"] = pd.to_datetime(frame["last_ts"].astype("float64"), unit="s", utc=True)
    return frame.drop(columns="last_ts")
