"""A tracker's position in a period: consumption so far, the amount, and the projection with its 90 % band.

Consumption comes from the daily roll-up up to the *data day* (the last whole local day whose readings have
arrived: yesterday); sites that have not reported are counted as missing ("2 of 3 sites reported"), never
as zero. The projection adds, per site, the forecast model's expected consumption of the remaining days
(from the temperature forecast) or, for sites without a model, the run-rate so far (labelled).

The requested amount is kWh, or a percentage above the models' expected consumption of the whole period
(summed per local day). Sites without a model have no expected consumption: in percent mode the amount and
the consumption compared with it cover only the modelled sites, and the status says so.

Every expected figure goes through :func:`expected_per_day`, the one place that asks the models, so the
source of predictions can change without touching the rest. The shared figures of a scope (consumption,
expected, projection) and the run's cache are in :mod:`portfolio.services.tracker_status_figures`,
re-exported here.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlencode

from sqlalchemy.orm import Session

from portfolio.access import AccessDenied, DataType, Viewer, require_sites
from portfolio.analytics.trackers import (
    PeriodBounds,
    compute_period_bounds,
    compute_progress,
    compute_state,
    detect_crossing,
    first_day_over,
)
from portfolio.models import Tracker
from portfolio.queries import trackers as tracker_queries
from portfolio.services.groups import ALL_SITES, group_site_ids
from portfolio.services.tracker_status_figures import (
    DailyExpected,
    EvaluationCache,
    ScopeFigures,
    SiteUsage,
    compute_scope_figures,
    expected_per_day,
)
from portfolio.timekeeping import UK_TIME_ZONE

__all__ = [
    "GRAPH_PATH",
    "SCOPE_KINDS",
    "DailyExpected",
    "EvaluationCache",
    "ScopeFigures",
    "SiteUsage",
    "TrackerError",
    "TrackerStatus",
    "compute_scope_figures",
    "compute_status",
    "data_day_for",
    "expected_per_day",
    "graph_path",
    "scope_label",
    "scope_members",
    "scope_site_ids",
    "tracker_fuel",
]

GRAPH_PATH = "/graphs"
SCOPE_KINDS = ("all", "group", "site")


class TrackerError(ValueError):
    """A tracker that cannot be created or changed as asked; the message says what to fix."""


@dataclass(frozen=True)
class TrackerStatus:
    """A tracker's position in one period, as the page shows it, the ledger keeps it and the email tells it."""

    tracker_id: int
    name: str
    scope_label: str
    fuel: str
    period: str
    period_label: str
    period_start: dt.date
    period_end: dt.date
    data_day: dt.date
    target_kind: str
    target_value: float
    target_kwh: float | None = None
    target_to_date_kwh: float | None = None  # percent mode: the part of the amount for the days so far
    expected_period_kwh: float | None = None  # percent mode: the models' expected consumption of the period
    consumption_kwh: float | None = None
    progress: float | None = None
    projection_kwh: float | None = None
    projection_lower_kwh: float | None = None
    projection_upper_kwh: float | None = None
    projection_method: str = "none"
    crossing_day: dt.date | None = None  # when the projection passes the amount, if it does before the end
    state: str = "under"
    sites_total: int = 0
    sites_reporting_period: int = 0
    sites_reporting_day: int = 0
    modelled_sites: int = 0
    exceeded: bool = False
    excess_kwh: float | None = None
    excess_pct: float | None = None
    notes: tuple[str, ...] = ()
    error: str | None = None
    graph_path: str = GRAPH_PATH

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("period_start", "period_end", "data_day", "crossing_day"):
            data[key] = data[key].isoformat() if data[key] is not None else None
        data["notes"] = list(self.notes)
        return data

    @property
    def complete(self) -> bool:
        return self.data_day >= self.period_end

    @property
    def reporting_text(self) -> str:
        return (
            f"{self.sites_reporting_day} of {self.sites_total} sites reported for {self.data_day:%a %-d %b}"
            f" ({self.sites_reporting_period} of {self.sites_total} have data this period)"
        )


def data_day_for(run_date: dt.date) -> dt.date:
    """The last whole local day whose readings a run on ``run_date`` has: the day before."""
    return run_date - dt.timedelta(days=1)


def scope_site_ids(session: Session, viewer: Viewer, scope_kind: str, scope_id: int | None) -> list[int]:
    """The sites a tracker covers, as the viewer may see them today; raises AccessDenied when refused."""
    if scope_kind == "all":
        return group_site_ids(session, viewer, ALL_SITES, DataType.DAILY_TOTALS)
    if scope_kind == "group":
        return group_site_ids(session, viewer, scope_id, DataType.DAILY_TOTALS)
    if scope_kind == "site":
        return require_sites(session, viewer, [scope_id], DataType.DAILY_TOTALS)
    raise TrackerError(f"scope must be one of {', '.join(SCOPE_KINDS)}")


def scope_label(session: Session, tracker: Tracker) -> str:
    if tracker.scope_kind == "all":
        return "All sites"
    if tracker.scope_kind == "group":
        return f"group “{tracker_queries.load_group_name(session, int(tracker.scope_id or 0)) or 'deleted group'}”"
    sites = tracker_queries.load_sites_brief(session, [int(tracker.scope_id or 0)])
    return f"site “{sites['name'].iloc[0]}”" if len(sites) else "a site that no longer exists"


def tracker_fuel(tracker: Tracker) -> str:
    return getattr(tracker.fuel, "value", str(tracker.fuel))


def graph_path(tracker: Tracker, bounds: PeriodBounds, data_day: dt.date) -> str:
    """The graph page of the period so far, with the same URL parameters as /portfolio (plus site)."""
    params = {
        "group": str(tracker.scope_id) if tracker.scope_kind == "group" else ALL_SITES,
        "from": bounds.start.isoformat(),
        "to": max(bounds.start, min(bounds.end, data_day)).isoformat(),
        "fuel": tracker_fuel(tracker),
    }
    if tracker.scope_kind == "site":
        params["site"] = str(tracker.scope_id)
    return f"{GRAPH_PATH}?{urlencode(params)}"


def scope_members(
    session: Session, viewer: Viewer, tracker: Tracker, cache: EvaluationCache | None = None
) -> list[int]:
    """The tracker's sites of its fuel the viewer may see; raises AccessDenied when refused.

    With a cache, each (viewer, scope, fuel) is resolved once per run or request, refusals included: access is
    checked afresh by the next run, never carried over.
    """
    fuel = tracker_fuel(tracker)
    if cache is None:
        site_ids = scope_site_ids(session, viewer, tracker.scope_kind, tracker.scope_id)
        sites = tracker_queries.load_sites_brief(session, site_ids)
        return [int(s) for s in sites.loc[sites["fuel"] == fuel, "site_id"]]
    key = (viewer.user_id, str(tracker.scope_kind), tracker.scope_id, fuel)
    known = cache.scopes.get(key)
    if isinstance(known, AccessDenied):
        raise AccessDenied(*known.args)
    if known is not None:
        return list(known)
    try:
        if tracker.scope_kind == "all":
            if viewer.user_id not in cache.visible:
                cache.visible[viewer.user_id] = scope_site_ids(session, viewer, "all", None)
            site_ids = cache.visible[viewer.user_id]
        else:
            site_ids = scope_site_ids(session, viewer, tracker.scope_kind, tracker.scope_id)
    except AccessDenied as refused:
        cache.scopes[key] = refused
        raise
    missing = [s for s in site_ids if s not in cache.sites]
    if missing:
        brief = tracker_queries.load_sites_brief(session, missing)
        for site_id, name, site_fuel in zip(brief["site_id"], brief["name"], brief["fuel"], strict=True):
            cache.sites[int(site_id)] = (str(name), str(site_fuel))
    members = tuple(s for s in site_ids if s in cache.sites and cache.sites[s][1] == fuel)
    cache.scopes[key] = members
    return list(members)


def _scope_label(session: Session, tracker: Tracker, cache: EvaluationCache | None) -> str:
    if cache is not None and tracker.scope_kind == "site" and int(tracker.scope_id or 0) in cache.sites:
        return f"site “{cache.sites[int(tracker.scope_id or 0)][0]}”"
    if cache is not None and tracker.scope_kind == "group":
        key = ("group", int(tracker.scope_id or 0))
        if key not in cache.labels:
            cache.labels[key] = scope_label(session, tracker)
        return cache.labels[key]
    return scope_label(session, tracker)


def _bounds(period: str, data_day: dt.date, cache: EvaluationCache | None) -> PeriodBounds:
    if cache is None:
        return compute_period_bounds(period, data_day, UK_TIME_ZONE)
    key = (period, data_day)
    if key not in cache.bounds:
        cache.bounds[key] = compute_period_bounds(period, data_day, UK_TIME_ZONE)
    return cache.bounds[key]


def compute_status(
    session: Session,
    tracker: Tracker,
    viewer: Viewer,
    data_day: dt.date,
    cache: EvaluationCache | None = None,
) -> TrackerStatus:
    """Consumption so far, the amount, progress and projection of the period containing ``data_day``.

    Raises AccessDenied when the viewer may no longer see the tracker's group or site. With a cache, trackers
    of the same sites, fuel and period share their figures (:func:`compute_scope_figures`); only what follows
    from the amount is computed per tracker.
    """
    bounds = _bounds(tracker.period, data_day, cache)
    fuel = tracker_fuel(tracker)
    members = scope_members(session, viewer, tracker, cache)
    base: dict[str, Any] = dict(
        tracker_id=tracker.id,
        name=tracker.name,
        scope_label=_scope_label(session, tracker, cache),
        fuel=fuel,
        period=tracker.period,
        period_label=bounds.label(),
        period_start=bounds.start,
        period_end=bounds.end,
        data_day=data_day,
        target_kind=tracker.target_kind,
        target_value=float(tracker.target_value),
        graph_path=graph_path(tracker, bounds, data_day),
        sites_total=len(members),
    )
    if not members:
        return TrackerStatus(**base, error=f"there is no {fuel} site left in this selection that you may see")
    percent = tracker.target_kind == "percent"
    figures = compute_scope_figures(session, members, bounds, data_day, percent, cache)
    if figures.error is not None:
        return TrackerStatus(
            **base,
            error=figures.error,
            sites_reporting_period=figures.sites_reporting_period,
            sites_reporting_day=figures.sites_reporting_day,
        )
    target_to_date: float | None = None
    if percent:
        factor = 1 + tracker.target_value / 100.0
        target = factor * float(figures.expected_period_kwh or 0.0)
        target_to_date = factor * float(figures.expected_to_date_kwh or 0.0)
    else:
        target = float(tracker.target_value)
    consumption = figures.consumption_kwh
    crossing = detect_crossing(consumption, target)
    state = compute_state(consumption, figures.projection_lower_kwh, target)
    running = figures.running_kwh
    return TrackerStatus(
        **base,
        target_kwh=target,
        target_to_date_kwh=target_to_date,
        expected_period_kwh=figures.expected_period_kwh,
        consumption_kwh=consumption,
        progress=compute_progress(consumption, target),
        projection_kwh=figures.projection_kwh,
        projection_lower_kwh=figures.projection_lower_kwh,
        projection_upper_kwh=figures.projection_upper_kwh,
        projection_method=figures.projection_method,
        crossing_day=first_day_over(running, target) if state != "exceeded" and running is not None else None,
        state=state,
        sites_reporting_period=figures.sites_reporting_period,
        sites_reporting_day=figures.sites_reporting_day,
        modelled_sites=figures.modelled_sites,
        exceeded=crossing is not None,
        excess_kwh=crossing.excess_kwh if crossing else None,
        excess_pct=crossing.excess_pct if crossing else None,
        notes=figures.notes,
    )
