"""Site look-ups, always filtered by the access policy."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portfolio.access import DataType, Viewer, visible_site_ids, visible_sites
from portfolio.models import Meter, Organisation, Reading, Site

SITE_SUMMARY_COLUMNS = [
    "id",
    "name",
    "organisation",
    "postcode",
    "fuel",
    "meter_type",
    "meter_identifier",
    "time_zone",
    "first_reading",
    "last_reading",
]


def _utc(ts: int | None) -> dt.datetime | None:
    return None if ts is None else dt.datetime.fromtimestamp(ts, tz=dt.UTC)


def load_site_summaries(session: Session, viewer: Viewer) -> pd.DataFrame:
    """One row per visible site with its meter and the UTC span of its readings (NaT when it has none).

    Sites reached through a grant without site details keep their postcode and meter identifier blank.

    The span comes from correlated MIN/MAX subqueries on the (site_id, start_ts) primary key: one index
    seek per site on SQLite and PostgreSQL alike, where a GROUP BY would scan every reading.
    """
    sites = visible_sites(viewer).subquery()
    first_ts = select(func.min(Reading.start_ts)).where(Reading.site_id == sites.c.id).scalar_subquery()
    last_ts = select(func.max(Reading.start_ts)).where(Reading.site_id == sites.c.id).scalar_subquery()
    identifier = select(func.min(Meter.identifier)).where(Meter.site_id == sites.c.id).scalar_subquery()
    statement = (
        select(
            sites.c.id,
            sites.c.name,
            Organisation.name.label("organisation"),
            sites.c.postcode,
            sites.c.fuel,
            sites.c.meter_type,
            identifier.label("identifier"),
            sites.c.time_zone,
            first_ts.label("first_ts"),
            last_ts.label("last_ts"),
        )
        .join(Organisation, Organisation.id == sites.c.organisation_id)
        .order_by(Organisation.name, sites.c.name)
    )
    rows = session.execute(statement).all()
    # A grant without "site and account details" shows a site's name and fuel, never its postcode or meter.
    details = None if viewer.is_admin else visible_site_ids(session, viewer, DataType.SITE_DETAILS)
    frame = pd.DataFrame(
        [
            (
                r.id,
                r.name,
                r.organisation,
                r.postcode if details is None or r.id in details else None,
                getattr(r.fuel, "value", r.fuel),
                getattr(r.meter_type, "value", r.meter_type),
                r.identifier if details is None or r.id in details else None,
                r.time_zone,
                _utc(r.first_ts),
                _utc(r.last_ts),
            )
            for r in rows
        ],
        columns=SITE_SUMMARY_COLUMNS,
    )
    for column in ("first_reading", "last_reading"):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    return frame


def load_site(session: Session, viewer: Viewer, site_id: int) -> Site | None:
    """The site if ``viewer`` may see it, else None (callers cannot tell 'absent' from 'forbidden')."""
    return session.scalar(visible_sites(viewer).where(Site.id == site_id))


def any_organisation(session: Session) -> bool:
    """Whether the database holds any organisation yet (``load-demo --if-empty``)."""
    return session.scalar(select(Organisation.id).limit(1)) is not None


def load_organisation_by_account(session: Session, account_number: str) -> Organisation | None:
    return session.scalar(select(Organisation).where(Organisation.account_number == account_number))


def any_organisation_with_account(session: Session, account_numbers: list[str]) -> bool:
    """Whether any of these account numbers is taken (the demo refuses to load twice)."""
    return session.scalar(select(Organisation.id).where(Organisation.account_number.in_(account_numbers))) is not None


def load_reached_organisations(session: Session, viewer: Viewer) -> list[tuple[int, str]]:
    """(id, name) of every organisation with a site the viewer may see, by name: a broker's clients."""
    sites = visible_sites(viewer).subquery()
    statement = (
        select(Organisation.id, Organisation.name)
        .where(Organisation.id.in_(select(sites.c.organisation_id)))
        .order_by(Organisation.name, Organisation.id)
    )
    return [(organisation_id, name) for organisation_id, name in session.execute(statement)]
