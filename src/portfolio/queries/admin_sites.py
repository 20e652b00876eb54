"""SQL for the admin Sites page: every site with its organisation, the unknown-meter queue, and a site's move."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from portfolio.models import (
    UNASSIGNED_ACCOUNT,
    Grant,
    ImportRecord,
    Meter,
    Organisation,
    PortfolioGroup,
    Reading,
    Site,
    grant_sites,
    portfolio_group_sites,
)

SITE_COLUMNS = ["site_id", "site", "organisation_id", "organisation", "account_number", "fuel", "postcode", "meters"]
QUEUE_COLUMNS = [
    "site_id",
    "site",
    "fuel",
    "meters",
    "file",
    "readings",
    "first_reading",
    "last_reading",
    "first_seen",
    "last_seen",
]


def _meters_by_site(session: Session, site_ids: list[int] | None = None) -> dict[int, str]:
    statement = select(Meter.site_id, Meter.identifier).order_by(Meter.site_id, Meter.identifier)
    if site_ids is not None:
        statement = statement.where(Meter.site_id.in_(site_ids))
    meters: dict[int, list[str]] = {}
    for site_id, identifier in session.execute(statement):
        meters.setdefault(int(site_id), []).append(identifier)
    return {site_id: ", ".join(ids) for site_id, ids in meters.items()}


def load_all_sites(session: Session) -> pd.DataFrame:
    """Every site with its organisation and meter identifiers (admins only: the caller checks)."""
    rows = session.execute(
        select(
            Site.id,
            Site.name,
            Organisation.id,
            Organisation.name,
            Organisation.account_number,
            Site.fuel,
            Site.postcode,
        )
        .join(Organisation, Organisation.id == Site.organisation_id)
        .order_by(Organisation.name, Site.name, Site.id)
    ).all()
    meters = _meters_by_site(session)
    records = [
        (int(sid), name, int(oid), org, account, getattr(fuel, "value", fuel), postcode, meters.get(int(sid), ""))
        for sid, name, oid, org, account, fuel, postcode in rows
    ]
    return pd.DataFrame(records, columns=SITE_COLUMNS)


def load_organisations(session: Session) -> list[tuple[int, str, str]]:
    """(id, name, account number) of every organisation, by name."""
    rows = session.execute(
        select(Organisation.id, Organisation.name, Organisation.account_number).order_by(Organisation.name)
    )
    return [(int(i), name, account) for i, name, account in rows]


def _utc(ts: object) -> dt.datetime | None:
    return None if ts is None else dt.datetime.fromtimestamp(int(str(ts)), dt.UTC)


def load_unassigned_queue(session: Session) -> pd.DataFrame:
    """Meters that arrived for no known organisation: per queued site and file, readings and when they came.

    Imports put an unknown meter's readings on a new site of the "Unassigned" organisation (nothing is dropped),
    so the queue is those sites; a site with no readings yet shows once with no file.
    """
    sites = session.execute(
        select(Site.id, Site.name, Site.fuel)
        .join(Organisation, Organisation.id == Site.organisation_id)
        .where(Organisation.account_number == UNASSIGNED_ACCOUNT)
        .order_by(Site.id)
    ).all()
    if not sites:
        return pd.DataFrame(columns=QUEUE_COLUMNS)
    ids = [int(s) for s, _, _ in sites]
    per_file = session.execute(
        select(
            Reading.site_id,
            ImportRecord.filename,
            func.count(),
            func.min(Reading.start_ts),
            func.max(Reading.start_ts),
            func.min(ImportRecord.imported_at),
            func.max(ImportRecord.imported_at),
        )
        .outerjoin(ImportRecord, ImportRecord.id == Reading.import_id)
        .where(Reading.site_id.in_(ids))
        .group_by(Reading.site_id, ImportRecord.filename)
    ).all()
    files: dict[int, list[tuple[object, ...]]] = {}
    for site_id, *rest in per_file:
        files.setdefault(int(site_id), []).append(tuple(rest))
    meters = _meters_by_site(session, ids)
    records: list[tuple[object, ...]] = []
    for site_id, name, fuel in sites:
        fuel_name = getattr(fuel, "value", fuel)
        entries = files.get(int(site_id)) or [(None, 0, None, None, None, None)]
        for filename, count, first_ts, last_ts, first_seen, last_seen in sorted(entries, key=lambda e: str(e[0])):
            records.append(
                (
                    int(site_id),
                    name,
                    fuel_name,
                    meters.get(int(site_id), ""),
                    filename or ("" if not count else "(file record gone)"),
                    int(str(count)),
                    _utc(first_ts),
                    _utc(last_ts),
                    first_seen,
                    last_seen,
                )
            )
    return pd.DataFrame(records, columns=QUEUE_COLUMNS)


def load_site_groups(session: Session, site_id: int) -> list[PortfolioGroup]:
    """The groups that contain the site."""
    return list(
        session.scalars(
            select(PortfolioGroup)
            .join(portfolio_group_sites, portfolio_group_sites.c.group_id == PortfolioGroup.id)
            .where(portfolio_group_sites.c.site_id == site_id)
            .order_by(PortfolioGroup.id)
        )
    )


def delete_chosen_site_grants(session: Session, site_id: int, organisation_id: int) -> int:
    """Remove the site from the chosen sites of ``organisation_id``'s grants (they no longer cover it)."""
    grant_ids = select(Grant.id).where(Grant.organisation_id == organisation_id)
    result = session.execute(
        delete(grant_sites).where(grant_sites.c.site_id == site_id, grant_sites.c.grant_id.in_(grant_ids))
    )
    return int(getattr(result, "rowcount", 0) or 0)
