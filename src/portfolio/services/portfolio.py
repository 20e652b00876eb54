"""The portfolio list: per site, metered totals and data coverage over a range of local days."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pandas as pd
from sqlalchemy.orm import Session

from portfolio.access import DataType, Viewer
from portfolio.analytics.coverage import SITE_LIST_COLUMNS, compute_site_list
from portfolio.queries.usage import load_list_sites, load_list_sites_where, load_usage_totals
from portfolio.services import audit
from portfolio.services.groups import group_site_condition


def load_site_list(session: Session, site_ids: Sequence[int], start: dt.date, end: dt.date) -> pd.DataFrame:
    """The list for ``site_ids`` (already access-checked), plus each site's time zone and organisation (its name for
    brokers, its id for the audit)."""
    return _site_list(session, load_list_sites(session, site_ids), start, end)


def _site_list(session: Session, sites: pd.DataFrame, start: dt.date, end: dt.date) -> pd.DataFrame:
    if sites.empty:
        return pd.DataFrame(columns=[*SITE_LIST_COLUMNS, "time_zone", "organisation", "organisation_id"])
    usage = load_usage_totals(session, [int(s) for s in sites["site_id"]], start, end)
    site_list = compute_site_list(sites, usage, start, end)
    return site_list.merge(sites[["site_id", "time_zone", "organisation", "organisation_id"]], on="site_id", how="left")


def load_group_site_list(session: Session, viewer: Viewer, group: str, start: dt.date, end: dt.date) -> pd.DataFrame:
    """The list of a group the viewer may see (raises AccessDenied for any other group); outside viewers audited.

    The sites are read with their facts in one query (``group_site_condition``), not their ids first."""
    sites = load_list_sites_where(session, group_site_condition(session, viewer, group, DataType.DAILY_TOTALS))
    site_list = _site_list(session, sites, start, end)
    site_ids = [int(s) for s in sites["site_id"]]
    organisations = [int(o) for o in sites["organisation_id"]]
    audit.record_viewed(session, viewer, site_ids, via="portfolio list", organisation_ids=organisations)
    session.commit()
    return site_list
