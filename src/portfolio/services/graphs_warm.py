"""The daily run readies the big portfolios' Graphs page: coverage, panel figures and load profile of its default views.

A portfolio graph's coverage (which sites reported in each bucket, the estimate for what is missing) and its
expected-consumption panel take 100-250 ms to compute for 1,000 sites, its load profile up to ~80 ms. All are kept by the first request that
computes them (``services/computed_results.py``); this step computes them after the night's imports and refresh for
the views people open first, the Graphs page's 7 days, 30 days (its default) and 1 year ending yesterday, of every
group, organisation, broker's or account manager's "All sites" and the whole estate with at least
:data:`WARM_MIN_SITES` sites of a fuel. Smaller portfolios
compute theirs in a request in tens of milliseconds. Results of older data versions are pruned first.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from portfolio.access import AccessDenied, viewer_for
from portfolio.analytics.resolution import AUTO, choose_resolution, compute_local_axis, finest_resolution
from portfolio.db import transaction
from portfolio.models import Role
from portfolio.queries.enrolment import load_organisation_site_ids
from portfolio.queries.expected import load_daily_only_site_ids
from portfolio.queries.graphs import Scope, load_all_group_ids, load_graph_sites, load_group_member_ids
from portfolio.queries.retention import load_site_ids
from portfolio.queries.series import load_organisation_ids
from portfolio.queries.users import load_active_users_with_roles
from portfolio.services.computed_results import prune_results
from portfolio.services.coverage import meter_interval_seconds
from portfolio.services.expected_summary import compute_portfolio_summary
from portfolio.services.graphs_coverage import load_coverage
from portfolio.services.graphs_profile import load_portfolio_profile
from portfolio.services.graphs_sites import GraphRequest, graph_scopes, graph_sites
from portfolio.services.groups import ALL_SITES
from portfolio.timekeeping import UK_TIME_ZONE, local_midnight_ts, local_range_ts, local_today

WARM_WINDOWS_DAYS = (7, 30, 365)
"""The Graphs page's range buttons, ending yesterday; 30 days is the page's default."""
WARM_MIN_SITES = 50
"""Portfolios with fewer sites of a fuel are computed when asked for."""


@dataclass
class WarmReport:
    pruned: int = 0  # kept results of older data dropped
    portfolios: int = 0  # scope and fuel pairs readied
    views: int = 0  # windows readied (each a graph's coverage, its panel's figures and its load profile)
    seconds: float = 0.0

    def as_json(self) -> dict[str, Any]:
        return {
            "pruned": self.pruned,
            "portfolios": self.portfolios,
            "views": self.views,
            "seconds": round(self.seconds, 2),
        }


def _scopes(session: Session, now: dt.datetime) -> list[tuple[list[int], list[Scope] | None]]:
    """The sites of the whole estate, of every organisation, of every group, and each broker's and account
    manager's "All sites" (their clients together: the page they land on), as :func:`graph_sites` finds them, each
    with the maintained series that add up to them (None: only a direct query can)."""
    scopes: list[tuple[list[int], list[Scope] | None]] = [(load_site_ids(session), [Scope("all", 0)])]
    scopes += [
        (load_organisation_site_ids(session, org_id), [Scope("org", org_id)])
        for org_id in load_organisation_ids(session)
    ]
    scopes += [
        (load_group_member_ids(session, group_id), [Scope("group", group_id)])
        for group_id in load_all_group_ids(session)
    ]
    today = local_today(now)
    for user in load_active_users_with_roles(session, [Role.BROKER, Role.ACCOUNT_MANAGER]):
        request = GraphRequest(ALL_SITES, None, today, today, "power")
        viewer = viewer_for(session, user, now)
        try:
            site_ids = graph_sites(session, viewer, request).site_ids
        except AccessDenied:  # reaches nothing today: nothing to ready
            continue
        scopes.append((site_ids, graph_scopes(session, viewer, ALL_SITES, site_ids)))
    return [(sorted(ids), maintained) for ids, maintained in scopes if ids]


def warm_graphs(factory: sessionmaker[Session], now: dt.datetime | None = None) -> WarmReport:
    """Prune kept results of older data, then ready the default views of the big portfolios (see the module)."""
    now = now or dt.datetime.now(dt.UTC)
    began = time.perf_counter()
    report = WarmReport()
    with transaction(factory) as session:
        report.pruned = prune_results(session)
    today = local_today(now)
    end = today - dt.timedelta(days=1)
    today_start = local_midnight_ts(today, UK_TIME_ZONE)
    with factory() as session:
        scopes = _scopes(session, now)
    done: set[tuple[int, ...]] = set()
    for site_ids, maintained in scopes:
        with factory() as session:
            if load_daily_only_site_ids(session, site_ids):
                continue  # opted out of half-hourly data: drawn per day from daily totals, computed when asked for
            sites = load_graph_sites(session, site_ids)
            for fuel in sorted(set(sites["fuel"])):
                members = sites[sites["fuel"] == fuel]
                key = tuple(sorted(int(s) for s in members["site_id"]))
                if len(members) < WARM_MIN_SITES or key in done:
                    continue  # an organisation that is also a group, or the estate of one organisation: once
                done.add(key)
                report.portfolios += 1
                intervals = meter_interval_seconds(members)
                finest = finest_resolution(intervals)
                panel_sites = members.assign(interval_seconds=intervals)[["site_id", "fuel", "interval_seconds"]]
                for days in WARM_WINDOWS_DAYS:
                    lo, hi = local_range_ts(end - dt.timedelta(days=days - 1), end, UK_TIME_ZONE)
                    resolution = choose_resolution(hi - lo, finest, AUTO)
                    axis = compute_local_axis(lo, hi, resolution, UK_TIME_ZONE)
                    buckets = axis["start_ts"].to_numpy(dtype="int64")
                    load_coverage(session, buckets, members, resolution, lo, hi, UK_TIME_ZONE, now)
                    compute_portfolio_summary(session, panel_sites, lo, hi, today_start, UK_TIME_ZONE)
                    load_portfolio_profile(session, list(key), maintained, fuel, lo, hi, UK_TIME_ZONE, now)
                    report.views += 1
    report.seconds = time.perf_counter() - began
    return report
