"""The portfolio list: per site, metered totals and data coverage over a range of local days."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pandas as pd
from sqlalchemy.orm import Session

from portfolio.access import DataType, Viewer
from portfolio.analytics.coverage import SITE_LIST_COLUMNS, compute_site_list
from portfolio.queries.usage import load_list_sites, load_usage_totals
from portfolio.services import audit
from portfolio.services.groups import group_site_ids


def load_site_list(session: Session, site_ids: Sequence[int], start: dt.date, end: dt.date) -> pd.DataFrame:
    """The list for ``site_ids`` (already access-checked), plus each site's time zone and organisation (brokers)."""
    sites = load_list_sites(session, site_ids)
    if sites.empty:
        return pd.DataFrame(columns=[*SITE_LIST_COLUMNS, "time_zone", "organisation"])
    usage = load_usage_totals(session, site_ids, start, end)
    site_list = compute_site_list(sites, usage, start, end)
    return site_list.merge(sites[["site_id", "time_zone", "organisation"]], on="site_id", how="left")


def load_group_site_list(session: Session, viewer: Viewer, group: str, start: dt.date, end: dt.date) -> pd.DataFrame:
    """The list of a group the viewer may see (raises AccessDenied for any other group); outside viewers audited."""
    site_ids = group_site_ids(session, viewer, group, DataType.DAILY_TOTALS)
    site_list = load_site_list(session, site_ids, start, end)
    audit.record_viewed(session, viewer, site_ids, via="portfolio list")
    session.commit()
    return site_list
