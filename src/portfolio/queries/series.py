"""SQL for ``portfolio_series``: the per-scope sums kept current by :mod:`portfolio.services.series`.

Nothing here commits: the caller's transaction decides.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from sqlalchemy import delete, select, text
from sqlalchemy.orm import Session

from portfolio.models import Organisation, PortfolioSeries, Site, portfolio_group_sites
from portfolio.queries.graphs import Scope, daily_series_statement, readings_series_sql
from portfolio.timekeeping import local_day_start_ts

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


def members_sql(scope: Scope) -> str:
    """SQL condition on ``s`` (sites) selecting the scope's members."""
    if scope.kind == "all":
        return "1 = 1"
    if scope.kind == "org":
        return f"s.organisation_id = {int(scope.id)}"
    return f"s.id IN (SELECT site_id FROM portfolio_group_sites WHERE group_id = {int(scope.id)})"


def site_ids_sql(site_ids: Iterable[int]) -> str:
    return "s.id IN (" + ",".join(str(int(s)) for s in sorted(set(site_ids))) + ")"


def delete_series(session: Session, scope: Scope, resolution: str, lo_ts: int, hi_ts: int) -> None:
    session.execute(
        delete(PortfolioSeries).where(
            PortfolioSeries.scope_kind == scope.kind,
            PortfolioSeries.scope_id == scope.id,
            PortfolioSeries.resolution == resolution,
            PortfolioSeries.start_ts >= lo_ts,
            PortfolioSeries.start_ts < hi_ts,
        )
    )


def insert_interval_series(
    session: Session,
    scope: Scope,
    resolution: str,
    members: str,
    lo_ts: int,
    hi_ts: int,
    *,
    sign: int = 1,
    accumulate: bool = False,
) -> None:
    select_sql = readings_series_sql(resolution, members, select_scope=True)
    if sign != 1:
        select_sql = select_sql.replace(
            "SUM(r.energy_kwh), COUNT(DISTINCT r.site_id), SUM(CASE",
            f"{sign} * SUM(r.energy_kwh), {sign} * COUNT(DISTINCT r.site_id), {sign} * SUM(CASE",
        )
    session.execute(
        text(_INSERT + select_sql + (_ACCUMULATE if accumulate else "")),
        {"scope_kind": scope.kind, "scope_id": scope.id, "resolution": resolution, "lo": lo_ts, "hi": hi_ts},
    )


def load_daily_series_rows(
    session: Session, scope: Scope, members: str, first: dt.date, last: dt.date, sign: int
) -> list[dict[str, object]]:
    rows = session.execute(daily_series_statement(members), {"first": first, "last": last}).all()
    if not rows:
        return []
    starts = local_day_start_ts([r[1] for r in rows])
    return [
        {
            "scope_kind": scope.kind,
            "scope_id": scope.id,
            "fuel": fuel,
            "resolution": "day",
            "start_ts": ts,
            "weather_location_id": int(loc),
            "energy_kwh": sign * float(kwh),
            "sites_reporting": sign * int(n),
            "estimated_intervals": sign * int(est or 0),
        }
        for (fuel, _day, loc, kwh, n, est), ts in zip(rows, starts, strict=True)
    ]


def write_daily_series(session: Session, rows: list[dict[str, object]], *, accumulate: bool) -> None:
    if not rows:
        return
    values = (
        "(:scope_kind, :scope_id, :fuel, :resolution, :start_ts, :weather_location_id, :energy_kwh,"
        " :sites_reporting, :estimated_intervals)"
    )
    session.execute(text(_INSERT + "VALUES " + values + (_ACCUMULATE if accumulate else "")), rows)


def delete_empty_buckets(session: Session, scope: Scope) -> None:
    """Drop ``scope``'s buckets whose last reporting site was subtracted."""
    session.execute(
        delete(PortfolioSeries).where(
            PortfolioSeries.scope_kind == scope.kind,
            PortfolioSeries.scope_id == scope.id,
            PortfolioSeries.sites_reporting <= 0,
        )
    )


def load_organisation_ids(session: Session, site_ids: Sequence[int] | None = None) -> list[int]:
    """Organisations of ``site_ids`` (every organisation when None)."""
    if site_ids is None:
        return [int(o) for o in session.scalars(select(Organisation.id))]
    return sorted(int(o) for o in session.scalars(select(Site.organisation_id).where(Site.id.in_(site_ids)).distinct()))


def load_site_facts(session: Session, site_ids: Sequence[int]) -> dict[int, tuple[str, int, int]]:
    """Per site: (fuel, weather location id or 0, organisation id)."""
    return {
        sid: (fuel.value, int(loc or 0), int(org))
        for sid, fuel, loc, org in session.execute(
            select(Site.id, Site.fuel, Site.weather_location_id, Site.organisation_id).where(Site.id.in_(site_ids))
        )
    }


def load_site_group_ids(session: Session, site_ids: Sequence[int]) -> dict[int, list[int]]:
    """Per site: the groups it belongs to."""
    groups: dict[int, list[int]] = {}
    for group_id, site_id in session.execute(
        select(portfolio_group_sites.c.group_id, portfolio_group_sites.c.site_id).where(
            portfolio_group_sites.c.site_id.in_(site_ids)
        )
    ):
        groups.setdefault(int(site_id), []).append(int(group_id))
    return groups


def insert_series_records(session: Session, records: list[tuple[object, ...]]) -> None:
    """Add rows (scope_kind, scope_id, fuel, resolution, start_ts, location, kWh, sites, estimated) to the sums."""
    mark = "?" if session.get_bind().dialect.name == "sqlite" else "%s"
    sql = _INSERT + "VALUES (" + ", ".join([mark] * 9) + ")" + _ACCUMULATE
    session.connection().exec_driver_sql(sql, records)


def delete_group_series(session: Session, group_id: int) -> None:
    session.execute(
        delete(PortfolioSeries).where(PortfolioSeries.scope_kind == "group", PortfolioSeries.scope_id == int(group_id))
    )


def delete_all_series(session: Session) -> None:
    session.execute(delete(PortfolioSeries))
