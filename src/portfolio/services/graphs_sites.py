"""Graphs: which sites a graph draws, after the access checks every graph, profile and panel share.

A request names a group (or the whole portfolio), maybe one site, and a fuel; :func:`graph_sites` turns it into
the sites the viewer may see, the fuel drawn (fuels are never added) and the time axis's zone (the site's own for
one site, the UK for a portfolio). :func:`graph_scopes` says which maintained series add up to exactly those
sites, so a portfolio graph reads pre-summed rows instead of every site's. Re-exported by
:mod:`portfolio.services.graphs`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy.orm import Session

from portfolio.access import AccessDenied, DataType, Viewer, require_sites
from portfolio.analytics.resolution import AUTO
from portfolio.models import Site
from portfolio.queries.consent import load_site_organisations
from portfolio.queries.graphs import Scope, load_graph_sites_where, load_group_member_ids
from portfolio.queries.id_lists import in_ids
from portfolio.services.computed_results import BeforeTheRun, data_now
from portfolio.services.groups import ALL_SITES, group_site_condition, group_site_ids
from portfolio.timekeeping import UK_TIME_ZONE, local_midnight_ts, local_range_ts


@dataclass(frozen=True)
class GraphRequest:
    """One graph as asked for; nothing in it is trusted until :func:`portfolio.services.graphs.make_graph` checks it."""

    group: str
    site: int | None  # None: the whole portfolio
    start: dt.date
    end: dt.date
    fuel: str  # "power", "gas" or "both" (a mixed portfolio then shows power: fuels are never added)
    granularity: str = AUTO
    stack: bool = False
    window: tuple[int, int] | None = None  # the zoomed x range [UTC epoch s), None: the whole range


def graph_scopes(session: Session, viewer: Viewer, group: str, site_ids: Sequence[int]) -> list[Scope] | None:
    """The maintained series that add up to exactly ``site_ids``, or None when only a direct query can."""
    if group in (None, "", ALL_SITES):
        if viewer.organisation_ids is None:
            return [Scope("all", 0)]
        if viewer.chosen_site_ids(DataType.INTERVAL_USAGE):
            return None  # grants over chosen sites (shared views): no maintained series adds up to them
        whole = viewer.whole_organisation_ids(DataType.INTERVAL_USAGE) or frozenset()
        daily_only = viewer.daily_only_organisation_ids & (
            viewer.whole_organisation_ids(DataType.DAILY_TOTALS) or frozenset()
        )  # opted out of half-hourly data: in the graph by their day series
        return [Scope("org", o) for o in sorted(whole | daily_only)]
    members = load_group_member_ids(session, int(group))
    return [Scope("group", int(group))] if members == sorted(site_ids) else None


def _graph_fuel(fuels: Sequence[str], wanted: str) -> str:
    if wanted in fuels:
        return wanted
    return "power" if "power" in fuels or not fuels else fuels[0]


@dataclass(frozen=True)
class GraphSites:
    site_ids: list[int]  # the group's sites the viewer may see
    fuels: tuple[str, ...]  # fuels among the graph's sites
    fuel: str  # the fuel drawn
    members: pd.DataFrame  # the graph's sites of that fuel
    time_zone: str  # the time axis: the site's own zone for one site, the UK for a portfolio
    daily_only: bool = False  # some sites opted out of half-hourly data: the graph is drawn per day
    sites: pd.DataFrame | None = None  # every site of ``site_ids`` with its facts (queries.graphs.GRAPH_SITE_COLUMNS)
    daily_only_site_ids: frozenset[int] = frozenset()  # those of them seen only by their daily totals

    @property
    def member_ids(self) -> list[int]:
        return [int(s) for s in self.members["site_id"]]

    @property
    def member_organisation_ids(self) -> list[int]:
        """The organisation of each of :attr:`member_ids` (for the audit of who looked, without a query)."""
        return [int(o) for o in self.members["organisation_id"]]


def _daily_only_site_ids(session: Session, viewer: Viewer, group: str) -> set[int]:
    """Sites of opted-out organisations (micro-business opt-out) the viewer sees daily totals of."""
    if not viewer.daily_only_organisation_ids:
        return set()
    daily = group_site_ids(session, viewer, group, DataType.DAILY_TOTALS)
    owners = load_site_organisations(session, daily)
    return {s for s, o in owners.items() if o in viewer.daily_only_organisation_ids}


def graph_sites(session: Session, viewer: Viewer, request: GraphRequest) -> GraphSites:
    """The sites behind ``request`` after the access checks every graph, profile and panel share.

    Sites whose organisation opted out of half-hourly data are drawn from their daily totals only. The sites the
    viewer may see are read with their facts in one query (a graph request's round trips are its main wait when the
    machine is busy: issue 20).
    """
    daily_only = _daily_only_site_ids(session, viewer, request.group)
    visible = group_site_condition(session, viewer, request.group, DataType.INTERVAL_USAGE)
    if daily_only:  # already checked as the group's, for daily totals
        visible = visible | in_ids(Site.id, sorted(daily_only))
    return _chosen(session, viewer, request, load_graph_sites_where(session, visible), frozenset(daily_only))


def _chosen(
    session: Session, viewer: Viewer, request: GraphRequest, sites: pd.DataFrame, daily_only: frozenset[int]
) -> GraphSites:
    """The graph's sites among ``sites`` (the viewer's, access checked): the one asked for, or all of them."""
    site_ids = sorted(int(s) for s in sites["site_id"])
    shown = sites
    if request.site is not None:
        if request.site not in site_ids:
            raise AccessDenied("that site is not in this group")
        if request.site not in daily_only:
            require_sites(session, viewer, [request.site], DataType.INTERVAL_USAGE)
        shown = sites[sites["site_id"] == request.site]
    fuels = tuple(sorted(set(shown["fuel"])))
    fuel = _graph_fuel(fuels, request.fuel)
    members = shown[shown["fuel"] == fuel]
    time_zone = UK_TIME_ZONE if request.site is None or members.empty else str(members["time_zone"].iloc[0])
    drawn_daily_only = bool(daily_only & {int(s) for s in members["site_id"]})
    return GraphSites(site_ids, fuels, fuel, members, time_zone, drawn_daily_only, sites, daily_only)


def sites_before_the_run(
    session: Session, viewer: Viewer, request: GraphRequest, chosen: GraphSites, before: BeforeTheRun
) -> GraphSites:
    """``chosen`` (the viewer's sites now, access checked) without the sites the running daily run has created since
    it began: the portfolio a result kept before the run was computed for (``services/computed_results.py``).

    A run imports new meters into new sites; without this, any portfolio they join (an admin's whole estate, an
    unassigned account) would find nothing kept before the run and be computed afresh on cores the import is using.
    Only ever fewer sites than the viewer may see now, picked from ``chosen`` (no query). A site created since,
    asked for by itself, is returned as it is: nothing was kept for it."""
    last = before.last_site_id
    if last is None or max(chosen.site_ids, default=0) <= last or (request.site is not None and request.site > last):
        return chosen
    sites = chosen.sites
    if sites is None:
        raise ValueError("sites_before_the_run needs the GraphSites graph_sites returns (with its sites)")
    return _chosen(session, viewer, request, sites[sites["site_id"] <= last], chosen.daily_only_site_ids)


def graph_time_zone(session: Session, viewer: Viewer, request: GraphRequest) -> str:
    """The zone of the graph's time axis (the zoom range arrives as wall-clock times in it); raises AccessDenied."""
    return graph_sites(session, viewer, request).time_zone


@dataclass(frozen=True)
class ExpectedScope:
    """The sites and range behind a graph's expected-consumption panel (access already checked)."""

    sites: pd.DataFrame  # the graph's sites of the graph's fuel
    start_ts: int
    end_ts: int
    today_start_ts: int
    time_zone: str
    before: BeforeTheRun | None = None  # while the daily run writes: the data as it began (computed_results.py)
    sites_before: pd.DataFrame | None = None  # ``sites`` without those the run has created since
    version: int | None = None  # the data's version as the request read it (computed_results.data_now)


def load_expected_scope(
    session: Session, viewer: Viewer, request: GraphRequest, now: dt.datetime | None = None
) -> ExpectedScope:
    """The expected-consumption panel's inputs for the graph's sites (same access checks as the graph)."""
    chosen = graph_sites(session, viewer, request)
    members, time_zone = chosen.members, chosen.time_zone
    lo, hi = local_range_ts(request.start, request.end, time_zone)
    now = now or dt.datetime.now(dt.UTC)
    today_start = local_midnight_ts(now.astimezone(ZoneInfo(time_zone)).date(), time_zone)
    data = data_now(session, now)
    if data.before is None:
        return ExpectedScope(members, lo, hi, today_start, time_zone, version=data.version)
    sites_before = sites_before_the_run(session, viewer, request, chosen, data.before).members
    return ExpectedScope(members, lo, hi, today_start, time_zone, data.before, sites_before, data.version)
