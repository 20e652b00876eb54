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

from portfolio.access import AccessDenied, Viewer, viewer_for
from portfolio.analytics.resolution import AUTO, choose_resolution, compute_local_axis, finest_resolution
from portfolio.db import transaction
from portfolio.models import Role, User
from portfolio.queries.enrolment import load_organisation_site_ids
from portfolio.queries.expected import load_daily_only_site_ids
from portfolio.queries.graphs import (
    Scope,
    load_all_group_ids,
    load_graph_sites,
    load_group_member_ids,
    load_group_owner_ids,
)
from portfolio.queries.pipeline import load_running_run
from portfolio.queries.retention import load_site_ids
from portfolio.queries.series import load_organisation_ids
from portfolio.queries.users import load_active_users_with_roles, load_users_signed_in_since
from portfolio.services.computed_results import DAILY_RUN_LONGEST, prune_results
from portfolio.services.coverage import meter_interval_seconds
from portfolio.services.expected_summary import compute_portfolio_summary
from portfolio.services.graphs_coverage import load_coverage
from portfolio.services.graphs_kept import HALF_HOUR, keep_graph, start_of_half_hour
from portfolio.services.graphs_profile import load_portfolio_profile
from portfolio.services.graphs_sites import GraphRequest, graph_scopes, graph_sites
from portfolio.services.groups import ALL_SITES
from portfolio.timekeeping import UK_TIME_ZONE, local_midnight_ts, local_range_ts, local_today

WARM_WINDOWS_DAYS = (7, 30, 365)
"""The Graphs page's range buttons, ending yesterday; 30 days is the page's default."""
WARM_MIN_SITES = 50
"""Portfolios with fewer sites of a fuel are computed when asked for."""
RECENT_SIGN_IN_DAYS = 7
"""The run's first step also keeps the "All sites" graphs of everyone who signed in within this many days."""
KEEP_BUDGET_S = 60.0
"""[s] of the run's first step after which recent users' graphs are left to be drawn when asked for."""


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
        report.pruned = prune_results(session, now)
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


def keep_default_graphs(factory: sessionmaker[Session], now: dt.datetime | None = None) -> WarmReport:
    """Keep the default graphs people are likely to open while the run writes, drawn from the data as it is now: the
    daily run's first step, before it imports.

    While the run writes, the Graphs page shows a graph kept from the data as it was when the run began
    (``services/graphs_kept.py``) rather than drawing each one afresh on cores the import is using (a 1,000-site year
    takes 250-370 ms to draw from nothing; even a small portfolio's 20-60 ms of CPU waits behind the import's, and
    was the slowest request of the 100-user load at 300-600 ms p95). A run at 06:00 finds few kept from the half hour
    before; this keeps the views people open first. A whole graph is kept per request as the page sends it, so each
    portfolio is drawn as the people who open it would: the estate as an admin, each broker's and account manager's
    "All sites", an organisation's sites as its customers, a group as its owner, for portfolios of at least
    :data:`WARM_MIN_SITES` sites of the fuel; then the "All sites" page of each user who signed in within
    :data:`RECENT_SIGN_IN_DAYS` days, whatever its size, the most recent first, while the step has spent less than
    :data:`KEEP_BUDGET_S`. Fuel "power" (the page's first view, whatever fuel the portfolio has) and "gas" where the
    page offers the toggle; 7 days, 30 days and a year ending yesterday. The same sites seen the same way are drawn
    once (the second opener reads the first's). Nobody looked, so nothing is audited.
    """
    now = now or dt.datetime.now(dt.UTC)
    began = time.perf_counter()
    report = WarmReport()
    end = local_today(now) - dt.timedelta(days=1)
    with factory() as session:
        openers = _openers(session, now)
    for viewer, group, min_sites in openers:
        if min_sites == 0 and time.perf_counter() - began > KEEP_BUDGET_S:
            break  # the big portfolios are all kept; the rest are drawn when asked for
        with factory() as session:
            for fuel in ("power", "gas"):
                try:
                    chosen = graph_sites(session, viewer, GraphRequest(group, None, end, end, fuel))
                except AccessDenied:
                    break  # reaches nothing today
                if chosen.fuel != fuel and fuel == "gas":
                    continue  # no gas: the page shows no toggle
                if len(chosen.members) < max(min_sites, 1):
                    continue
                report.portfolios += 1
                for days in WARM_WINDOWS_DAYS:
                    request = GraphRequest(group, None, end - dt.timedelta(days=days - 1), end, fuel)
                    keep_graph(session, viewer, request, graph_sites(session, viewer, request), now)
                    report.views += 1
    report.seconds = time.perf_counter() - began
    return report


KEEP_AHEAD = dt.timedelta(minutes=1)
"""How long before a half hour begins its default graphs are kept (``keep_next_half_hour_graphs``)."""


def keep_next_half_hour_graphs(factory: sessionmaker[Session], now: dt.datetime | None = None) -> WarmReport | None:
    """Keep the default graphs (as :func:`keep_default_graphs`) for the half hour after ``now``'s, from the data as it
    is: run a minute before each half hour (``portfolio keep-graphs --next-half-hour``, or the scheduler's
    ``daily-run --every 24h --keep-graphs``).

    A kept graph is drawn for its half hour (its forecast and "now" move with it), so when one begins every kept
    graph is stale and everyone's next look draws afresh at once, on the same cores. Drawn a minute early, for the
    half hour to come, they are exactly what its first looks would draw (the data's version is in their key: data
    that changes meanwhile is drawn afresh). Nothing is kept while a daily run writes: it keeps its own. None then.
    """
    now = now or dt.datetime.now(dt.UTC)
    with factory() as session:
        if load_running_run(session, now - DAILY_RUN_LONGEST) is not None:
            return None
    return keep_default_graphs(factory, start_of_half_hour(now) + HALF_HOUR)


def seconds_until_next_keep(now: dt.datetime) -> float:
    """Seconds from ``now`` to :data:`KEEP_AHEAD` before the next half hour (this half hour's moment if still ahead)."""
    moment = start_of_half_hour(now) + HALF_HOUR - KEEP_AHEAD
    if moment <= now:
        moment += HALF_HOUR
    return (moment - now).total_seconds()


def _openers(session: Session, now: dt.datetime) -> list[tuple[Viewer, str, int]]:
    """Who opens which portfolio, the group the page sends for it and the fewest sites of a fuel worth keeping it for
    (see :func:`keep_default_graphs`): the big portfolios' openers first, then recent users, the latest first."""
    users = load_active_users_with_roles(session, [Role.ADMIN, Role.BROKER, Role.ACCOUNT_MANAGER, Role.CUSTOMER])
    openers: list[tuple[Viewer, str, int]] = []
    admin = next((user for user in users if user.role == Role.ADMIN), None)
    if admin is not None and len(load_site_ids(session)) >= WARM_MIN_SITES:
        openers.append((viewer_for(session, admin, now), ALL_SITES, WARM_MIN_SITES))
    openers += [
        (viewer_for(session, user, now), ALL_SITES, WARM_MIN_SITES)
        for user in users
        if user.role in (Role.BROKER, Role.ACCOUNT_MANAGER)
    ]
    customers: dict[int, User] = {}
    for user in users:
        if user.role == Role.CUSTOMER and user.organisation_id is not None:
            customers.setdefault(int(user.organisation_id), user)
    for org_id, customer in customers.items():
        if len(load_organisation_site_ids(session, org_id)) >= WARM_MIN_SITES:
            openers.append((viewer_for(session, customer, now), ALL_SITES, WARM_MIN_SITES))
    for group_id, owner_id in load_group_owner_ids(session).items():
        owner = session.get(User, owner_id)
        if owner is not None and owner.is_active and len(load_group_member_ids(session, group_id)) >= WARM_MIN_SITES:
            openers.append((viewer_for(session, owner, now), str(group_id), WARM_MIN_SITES))
    since = int((now - dt.timedelta(days=RECENT_SIGN_IN_DAYS)).timestamp())
    openers += [(viewer_for(session, user, now), ALL_SITES, 0) for user in load_users_signed_in_since(session, since)]
    return openers
