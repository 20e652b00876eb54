"""Keep ``portfolio_series`` current: the per-scope sums that make portfolio graphs fast at 1,000 sites.

Scopes are every portfolio group, every organisation and "all" (admins). Three events change them:

- an import: :func:`refresh_for_sites` recomputes, for the time range the file touched, every scope
  containing one of its sites, with one GROUP BY per resolution over the member sites' readings in that
  range (a day's import touches a day; a year's bulk import recomputes the year once per scope);
- a group change: :func:`add_group_sites` / :func:`remove_group_sites` add or subtract just the changed
  sites' own series (rows whose last site left are deleted); :func:`drop_group` forgets a deleted group;
- a repair: :func:`rebuild_all` (``portfolio rebuild-series``) recomputes everything from readings.

Nothing here commits: the caller's transaction decides, exactly as for the readings themselves.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from sqlalchemy import delete, select, text
from sqlalchemy.orm import Session

from portfolio.models import Organisation, PortfolioSeries, Site
from portfolio.queries.graphs import (
    RESOLUTION_SECONDS,
    Scope,
    daily_series_statement,
    load_all_group_ids,
    load_group_ids_with_sites,
    local_date_span,
    local_day_start_ts,
    readings_series_sql,
)

ALL_SCOPE = Scope("all", 0)
RESOLUTIONS = ("hh", "hour", "day")
_FAR_PAST, _FAR_FUTURE = -(2**40), 2**40
_INSERT = (
    "INSERT INTO portfolio_series (scope_kind, scope_id, fuel, resolution, start_ts, weather_location_id,"
    " energy_kwh, sites_reporting, estimated_intervals) "
)
_ACCUMULATE = (
    " ON CONFLICT (scope_kind, scope_id, fuel, resolution, start_ts, weather_location_id) DO UPDATE SET"
    " energy_kwh = portfolio_series.energy_kwh + excluded.energy_kwh,"
    " sites_reporting = portfolio_series.sites_reporting + excluded.sites_reporting,"
    " estimated_intervals = portfolio_series.estimated_intervals + excluded.estimated_intervals"
)


def _members(scope: Scope) -> str:
    """SQL condition on ``s`` (sites) selecting the scope's members."""
    if scope.kind == "all":
        return "1 = 1"
    if scope.kind == "org":
        return f"s.organisation_id = {int(scope.id)}"
    return f"s.id IN (SELECT site_id FROM portfolio_group_sites WHERE group_id = {int(scope.id)})"


def _ids(site_ids: Iterable[int]) -> str:
    return "s.id IN (" + ",".join(str(int(s)) for s in sorted(set(site_ids))) + ")"


def scopes_for_sites(session: Session, site_ids: Iterable[int]) -> list[Scope]:
    """Every maintained scope that contains at least one of ``site_ids``."""
    ids = sorted(set(site_ids))
    if not ids:
        return []
    orgs = session.scalars(select(Site.organisation_id).where(Site.id.in_(ids)).distinct())
    groups = load_group_ids_with_sites(session, ids)
    return [ALL_SCOPE, *(Scope("org", int(o)) for o in sorted(orgs)), *(Scope("group", g) for g in groups)]


def _delete(session: Session, scope: Scope, resolution: str, lo_ts: int, hi_ts: int) -> None:
    session.execute(
        delete(PortfolioSeries).where(
            PortfolioSeries.scope_kind == scope.kind, PortfolioSeries.scope_id == scope.id,
            PortfolioSeries.resolution == resolution,
            PortfolioSeries.start_ts >= lo_ts, PortfolioSeries.start_ts < hi_ts,
        )
    )


def _insert_interval_series(session: Session, scope: Scope, resolution: str, members: str, lo_ts: int, hi_ts: int,
                            *, sign: int = 1, accumulate: bool = False) -> None:
    select_sql = readings_series_sql(resolution, members, select_scope=True)
    if sign != 1:
        select_sql = select_sql.replace("SUM(r.energy_kwh), COUNT(DISTINCT r.site_id), SUM(CASE",
                                        f"{sign} * SUM(r.energy_kwh), {sign} * COUNT(DISTINCT r.site_id), {sign} * SUM(CASE")
    session.execute(
        text(_INSERT + select_sql + (_ACCUMULATE if accumulate else "")),
        {"scope_kind": scope.kind, "scope_id": scope.id, "resolution": resolution, "lo": lo_ts, "hi": hi_ts},
    )


def _daily_rows(session: Session, scope: Scope, members: str, first: dt.date, last: dt.date,
                sign: int) -> list[dict[str, object]]:
    rows = session.execute(daily_series_statement(members), {"first": first, "last": last}).all()
    if not rows:
        return []
    starts = local_day_start_ts([r[1] for r in rows])
    return [
        {"scope_kind": scope.kind, "scope_id": scope.id, "fuel": fuel, "resolution": "day", "start_ts": ts,
         "weather_location_id": int(loc), "energy_kwh": sign * float(kwh), "sites_reporting": sign * int(n),
         "estimated_intervals": sign * int(est or 0)}
        for (fuel, _day, loc, kwh, n, est), ts in zip(rows, starts, strict=True)
    ]


def _write_daily(session: Session, rows: list[dict[str, object]], *, accumulate: bool) -> None:
    if not rows:
        return
    values = ("(:scope_kind, :scope_id, :fuel, :resolution, :start_ts, :weather_location_id, :energy_kwh,"
              " :sites_reporting, :estimated_intervals)")
    session.execute(text(_INSERT + "VALUES " + values + (_ACCUMULATE if accumulate else "")), rows)


def refresh_scope(session: Session, scope: Scope, lo_ts: int = _FAR_PAST, hi_ts: int = _FAR_FUTURE) -> None:
    """Recompute ``scope``'s series over [lo_ts, hi_ts) (widened to whole buckets and local days)."""
    members = _members(scope)
    for resolution, seconds in RESOLUTION_SECONDS.items():
        lo, hi = (lo_ts // seconds) * seconds, -(-hi_ts // seconds) * seconds
        _delete(session, scope, resolution, lo, hi)
        _insert_interval_series(session, scope, resolution, members, lo, hi)
    if lo_ts == _FAR_PAST:
        first, last = dt.date.min, dt.date.max
        day_lo, day_hi = _FAR_PAST, _FAR_FUTURE
    else:
        first, last = local_date_span(lo_ts, hi_ts)
        day_lo, day_hi = local_day_start_ts([first, last + dt.timedelta(days=1)])
    _delete(session, scope, "day", day_lo, day_hi)
    _write_daily(session, _daily_rows(session, scope, members, first, last, 1), accumulate=False)


def refresh_for_sites(session: Session, site_ids: Iterable[int], lo_ts: int, hi_ts: int) -> None:
    """After readings of ``site_ids`` in [lo_ts, hi_ts) changed (and their daily roll-up), refresh every scope."""
    session.flush()
    for scope in scopes_for_sites(session, site_ids):
        refresh_scope(session, scope, lo_ts, hi_ts)


def _apply_sites(session: Session, scope: Scope, site_ids: Sequence[int], sign: int) -> None:
    """Add (sign 1) or subtract (sign -1) the series of ``site_ids`` to ``scope``'s, over all time."""
    if not site_ids:
        return
    session.flush()
    members = _ids(site_ids)
    for resolution in RESOLUTION_SECONDS:
        _insert_interval_series(session, scope, resolution, members, _FAR_PAST, _FAR_FUTURE, sign=sign, accumulate=True)
    _write_daily(session, _daily_rows(session, scope, members, dt.date.min, dt.date.max, sign), accumulate=True)
    if sign < 0:
        session.execute(
            delete(PortfolioSeries).where(
                PortfolioSeries.scope_kind == scope.kind, PortfolioSeries.scope_id == scope.id,
                PortfolioSeries.sites_reporting <= 0,
            )
        )


def add_group_sites(session: Session, group_id: int, site_ids: Sequence[int]) -> None:
    """Sites just added to a group: add their series to the group's."""
    _apply_sites(session, Scope("group", int(group_id)), site_ids, 1)


def remove_group_sites(session: Session, group_id: int, site_ids: Sequence[int]) -> None:
    """Sites about to leave a group (call before removing them): subtract their series."""
    _apply_sites(session, Scope("group", int(group_id)), site_ids, -1)


def drop_group(session: Session, group_id: int) -> None:
    session.execute(
        delete(PortfolioSeries).where(PortfolioSeries.scope_kind == "group", PortfolioSeries.scope_id == int(group_id))
    )


def rebuild_all(session: Session) -> int:
    """Recompute every scope from the readings; return how many scopes were rebuilt."""
    session.flush()
    session.execute(delete(PortfolioSeries))
    scopes = [ALL_SCOPE, *(Scope("org", int(o)) for o in session.scalars(select(Organisation.id)))]
    scopes += [Scope("group", g) for g in load_all_group_ids(session)]
    for scope in scopes:
        refresh_scope(session, scope)
    return len(scopes)
