"""SQL for the precomputed expected sums per scope (``expected_series``, ``expected_series_refreshes``).

Large scopes' sums are replaced whole in one transaction by :func:`replace_expected_series` (or, in SQL, from the
stored site rows by :func:`replace_expected_series_from_sites`); graphs read them summed per bucket
(:func:`load_expected_sums`), the same way they read ``portfolio_series``. The per-site rows are
``queries/expected.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import pandas as pd
from sqlalchemy import CursorResult, Integer, String, and_, delete, func, insert, literal, or_, select, text
from sqlalchemy.orm import Session

from portfolio.analytics.expected import SUM_COLUMNS
from portfolio.models import (
    ExpectedSeries,
    ExpectedSeriesRefresh,
    Role,
    Site,
    SiteExpected,
    User,
    portfolio_group_sites,
)
from portfolio.queries.graphs import Scope, scope_ids_by_kind
from portfolio.queries.id_lists import in_ids

MEMBER_COLUMNS = ["scope_kind", "scope_id", "site_id", "fuel"]
_INSERT = (
    "INSERT INTO expected_series (scope_kind, scope_id, fuel, resolution, start_ts, expected_kwh, variance_kwh2, sites)"
    " VALUES ({marks})"
)


def _fuel(value: object) -> str:
    return str(getattr(value, "value", value))


def load_scope_members(session: Session, scopes: Sequence[Scope] | None = None) -> pd.DataFrame:
    """Sites of each scope with their fuel: scope_kind, scope_id, site_id, fuel.

    ``scopes`` None: every maintained scope ("all", every organisation, every group).
    """
    want_all = scopes is None or any(s.kind == "all" for s in scopes)
    org_ids = None if scopes is None else sorted({s.id for s in scopes if s.kind == "org"})
    group_ids = None if scopes is None else sorted({s.id for s in scopes if s.kind == "group"})
    rows: list[tuple[str, int, int, str]] = []
    if want_all or org_ids is None or org_ids:
        statement = select(Site.id, Site.fuel, Site.organisation_id)
        if not want_all and org_ids is not None:
            statement = statement.where(Site.organisation_id.in_(org_ids))
        sites = session.execute(statement).all()
        if want_all:
            rows += [("all", 0, int(i), _fuel(f)) for i, f, _ in sites]
        wanted = None if org_ids is None else set(org_ids)
        rows += [("org", int(o), int(i), _fuel(f)) for i, f, o in sites if wanted is None or o in wanted]
    if group_ids is None or group_ids:
        statement = select(portfolio_group_sites.c.group_id, Site.id, Site.fuel).join(
            Site, Site.id == portfolio_group_sites.c.site_id
        )
        if group_ids is not None:
            statement = statement.where(portfolio_group_sites.c.group_id.in_(group_ids))
        rows += [("group", int(g), int(i), _fuel(f)) for g, i, f in session.execute(statement)]
    return pd.DataFrame(rows, columns=MEMBER_COLUMNS)


def load_viewer_users(session: Session) -> list[User]:
    """Active users whose "All sites" is a set of organisations (everyone but admins)."""
    return list(
        session.scalars(select(User).where(User.role != Role.ADMIN, User.is_active.is_(True)).order_by(User.id))
    )


def _scopes_condition(scopes: Sequence[Scope], table: type[ExpectedSeries] | type[ExpectedSeriesRefresh]):  # noqa: ANN202
    return or_(
        *(
            and_(table.scope_kind == kind, in_ids(table.scope_id, ids))
            for kind, ids in scope_ids_by_kind(scopes).items()
        )
    )


def load_expected_refreshes(session: Session, scopes: Sequence[Scope], fuel: str) -> dict[Scope, ExpectedSeriesRefresh]:
    """The last refresh of each of ``scopes`` for ``fuel`` (scopes never refreshed are absent)."""
    if not scopes:
        return {}
    statement = select(ExpectedSeriesRefresh).where(
        _scopes_condition(scopes, ExpectedSeriesRefresh), ExpectedSeriesRefresh.fuel == fuel
    )
    return {Scope(r.scope_kind, r.scope_id): r for r in session.scalars(statement)}


def load_refreshed_scopes(session: Session) -> set[tuple[Scope, str]]:
    """Every (scope, fuel) currently maintained in ``expected_series``."""
    rows = session.execute(
        select(ExpectedSeriesRefresh.scope_kind, ExpectedSeriesRefresh.scope_id, ExpectedSeriesRefresh.fuel)
    )
    return {(Scope(kind, int(scope_id)), fuel) for kind, scope_id, fuel in rows}


def load_expected_sums(
    session: Session, scopes: Sequence[Scope], fuel: str, resolution: str, lo_ts: int, hi_ts: int
) -> pd.DataFrame:
    """The stored sums of ``scopes`` added per bucket in [lo_ts, hi_ts): start_ts, expected_kwh, variance_kwh2, sites."""
    if not scopes:
        return pd.DataFrame({c: pd.Series(dtype="float64") for c in SUM_COLUMNS})
    statement = (
        select(
            ExpectedSeries.start_ts,
            func.sum(ExpectedSeries.expected_kwh),
            func.sum(ExpectedSeries.variance_kwh2),
            func.sum(ExpectedSeries.sites),
        )
        .where(
            _scopes_condition(scopes, ExpectedSeries),
            ExpectedSeries.fuel == fuel,
            ExpectedSeries.resolution == resolution,
            ExpectedSeries.start_ts >= lo_ts,
            ExpectedSeries.start_ts < hi_ts,
        )
        .group_by(ExpectedSeries.start_ts)
        .order_by(ExpectedSeries.start_ts)
    )
    rows = [tuple(row) for row in session.execute(statement)]
    frame = pd.DataFrame(rows, columns=SUM_COLUMNS)
    return frame.astype({"start_ts": "int64", "expected_kwh": "float64", "variance_kwh2": "float64", "sites": "int64"})


def delete_expected_series(session: Session, scope: Scope, fuel: str) -> int:
    """Forget a scope's stored series and its refresh row; returns the series rows deleted."""
    deleted = session.execute(
        delete(ExpectedSeries).where(
            ExpectedSeries.scope_kind == scope.kind, ExpectedSeries.scope_id == scope.id, ExpectedSeries.fuel == fuel
        )
    )
    session.execute(
        delete(ExpectedSeriesRefresh).where(
            ExpectedSeriesRefresh.scope_kind == scope.kind,
            ExpectedSeriesRefresh.scope_id == scope.id,
            ExpectedSeriesRefresh.fuel == fuel,
        )
    )
    return int(cast(CursorResult[Any], deleted).rowcount or 0)


def insert_expected_rows(session: Session, rows: Sequence[tuple[object, ...]]) -> None:
    """Bulk insert (scope_kind, scope_id, fuel, resolution, start_ts, expected_kwh, variance_kwh2, sites) rows."""
    if not rows:
        return
    mark = "?" if session.get_bind().dialect.name == "sqlite" else "%s"
    session.connection().exec_driver_sql(_INSERT.format(marks=", ".join([mark] * 8)), list(rows))


def replace_expected_series(
    session: Session, refresh: ExpectedSeriesRefresh, rows: Sequence[tuple[object, ...]]
) -> None:
    """Replace one scope and fuel's series and refresh row (the caller's transaction makes it atomic)."""
    delete_expected_series(session, Scope(refresh.scope_kind, refresh.scope_id), refresh.fuel)
    session.flush()
    insert_expected_rows(session, rows)
    session.add(refresh)


def replace_expected_series_from_sites(
    session: Session, refresh: ExpectedSeriesRefresh, site_ids: Sequence[int]
) -> int:
    """Replace one scope and fuel's stored sums with the sums of its sites' stored rows, in SQL; returns rows."""
    delete_expected_series(session, Scope(refresh.scope_kind, refresh.scope_id), refresh.fuel)
    session.flush()
    ids = [int(s) for s in site_ids]
    if not ids:
        session.add(refresh)
        return 0
    summed = (
        select(
            literal(refresh.scope_kind, String(8)).label("scope_kind"),
            literal(refresh.scope_id, Integer()).label("scope_id"),
            literal(refresh.fuel, String(8)).label("fuel"),
            SiteExpected.resolution,
            SiteExpected.start_ts,
            func.sum(SiteExpected.expected_kwh),
            func.sum(SiteExpected.variance_kwh2),
            func.count(),
        )
        .where(
            SiteExpected.site_id.in_(ids),
            SiteExpected.start_ts >= refresh.lo_ts,
            SiteExpected.start_ts < refresh.hi_ts,
        )
        .group_by(SiteExpected.resolution, SiteExpected.start_ts)
    )
    session.execute(
        insert(ExpectedSeries).from_select(
            ["scope_kind", "scope_id", "fuel", "resolution", "start_ts", "expected_kwh", "variance_kwh2", "sites"],
            summed,
        )
    )
    session.add(refresh)
    written = select(func.count()).where(  # INSERT ... SELECT reports no row count on SQLite
        ExpectedSeries.scope_kind == refresh.scope_kind,
        ExpectedSeries.scope_id == refresh.scope_id,
        ExpectedSeries.fuel == refresh.fuel,
    )
    return int(session.scalar(written) or 0)


_KEY = "scope_kind, scope_id, fuel, resolution, start_ts"
_ADD = (
    "INSERT INTO expected_series (scope_kind, scope_id, fuel, resolution, start_ts, expected_kwh, variance_kwh2, sites)"
    " {source} ON CONFLICT (" + _KEY + ") DO UPDATE SET"
    " expected_kwh = expected_series.expected_kwh + excluded.expected_kwh,"
    " variance_kwh2 = expected_series.variance_kwh2 + excluded.variance_kwh2,"
    " sites = expected_series.sites + excluded.sites"
)


def load_maintained_members(session: Session) -> dict[int, list[tuple[Scope, str]]]:
    """For each site summed into a maintained scope: those scopes and fuels (site_id -> [(scope, fuel)])."""
    maintained = load_refreshed_scopes(session)
    if not maintained:
        return {}
    members = load_scope_members(session, sorted({scope for scope, _ in maintained}, key=lambda s: (s.kind, s.id)))
    found: dict[int, list[tuple[Scope, str]]] = {}
    for kind, scope_id, site_id, fuel in members.itertuples(index=False):
        key = (Scope(str(kind), int(scope_id)), str(fuel))
        if key in maintained:
            found.setdefault(int(site_id), []).append(key)
    return found


def add_to_expected_series(session: Session, rows: Sequence[tuple[object, ...]]) -> None:
    """Add (scope_kind, scope_id, fuel, resolution, start_ts, expected_kwh, variance_kwh2, sites) to the stored
    sums: a bucket's row gains the energy, variance and sites given (a missing one is created)."""
    if not rows:
        return
    mark = "?" if session.get_bind().dialect.name == "sqlite" else "%s"
    session.connection().exec_driver_sql(_ADD.format(source=f"VALUES ({', '.join([mark] * 8)})"), list(rows))


def add_site_rows(
    session: Session,
    scope: Scope,
    fuel: str,
    site_ids: Sequence[int],
    sign: int,
    lo_ts: int,
    hi_ts: int,
    resolutions: Sequence[str] = ("hh", "hour", "day"),
) -> None:
    """Add (``sign`` 1) or take away (-1) the stored rows of ``site_ids`` in [lo_ts, hi_ts) to one scope's sums, in
    SQL: a site joining or leaving a group, or losing its half-hourly predictions. Empty buckets are removed."""
    ids = [int(s) for s in site_ids]
    if not ids or sign not in (1, -1):
        return
    params: dict[str, object] = {f"site_{n}": s for n, s in enumerate(ids)}
    params.update({f"res_{n}": r for n, r in enumerate(resolutions)})
    params.update({"kind": scope.kind, "scope": scope.id, "fuel": fuel, "lo": int(lo_ts), "hi": int(hi_ts)})
    source = (
        "SELECT :kind, :scope, :fuel, resolution, start_ts, "
        f"{sign} * SUM(expected_kwh), {sign} * SUM(variance_kwh2), {sign} * COUNT(*) FROM site_expected"
        f" WHERE site_id IN ({', '.join(f':site_{n}' for n in range(len(ids)))})"
        f" AND resolution IN ({', '.join(f':res_{n}' for n in range(len(resolutions)))})"
        " AND start_ts >= :lo AND start_ts < :hi GROUP BY resolution, start_ts"
    )
    session.execute(text(_ADD.format(source=source)), params)
    delete_empty_expected_rows(session, [(scope, fuel)])


def delete_empty_expected_rows(session: Session, keys: Sequence[tuple[Scope, str]]) -> None:
    """Drop the buckets of these scopes and fuels that no site is summed into any more."""
    for scope, fuel in keys:
        session.execute(
            delete(ExpectedSeries).where(
                ExpectedSeries.scope_kind == scope.kind,
                ExpectedSeries.scope_id == scope.id,
                ExpectedSeries.fuel == fuel,
                ExpectedSeries.sites <= 0,
            )
        )


def prune_expected_series(session: Session, lo_ts: int, hi_ts: int) -> None:
    """Drop every maintained scope's buckets outside [lo_ts, hi_ts) (the window moved on)."""
    session.execute(
        delete(ExpectedSeries).where(or_(ExpectedSeries.start_ts < lo_ts, ExpectedSeries.start_ts >= hi_ts))
    )


def replace_expected_refresh(session: Session, refresh: ExpectedSeriesRefresh) -> int:
    """Replace one scope and fuel's refresh row (its sums kept); returns the rows it holds."""
    session.execute(
        delete(ExpectedSeriesRefresh).where(
            ExpectedSeriesRefresh.scope_kind == refresh.scope_kind,
            ExpectedSeriesRefresh.scope_id == refresh.scope_id,
            ExpectedSeriesRefresh.fuel == refresh.fuel,
        )
    )
    session.add(refresh)
    held = select(func.count()).where(
        ExpectedSeries.scope_kind == refresh.scope_kind,
        ExpectedSeries.scope_id == refresh.scope_id,
        ExpectedSeries.fuel == refresh.fuel,
    )
    return int(session.scalar(held) or 0)


def load_refresh_window(session: Session) -> tuple[int, int] | None:
    """The widest window any maintained scope covers [UTC epoch s), or None when none is maintained."""
    lo, hi = session.execute(select(func.min(ExpectedSeriesRefresh.lo_ts), func.max(ExpectedSeriesRefresh.hi_ts))).one()
    return None if lo is None else (int(lo), int(hi))


def load_site_fuels(session: Session, site_ids: Sequence[int]) -> dict[int, str]:
    """Each site's fuel ("power" or "gas")."""
    if not site_ids:
        return {}
    rows = session.execute(select(Site.id, Site.fuel).where(in_ids(Site.id, [int(s) for s in site_ids])))
    return {int(site_id): _fuel(fuel) for site_id, fuel in rows}
