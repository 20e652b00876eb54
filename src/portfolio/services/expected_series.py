"""Keep ``expected_series`` current: expected consumption of large portfolios, precomputed in batch.

A graph request sums its sites' model forecasts itself only up to :data:`MAX_EXPECTED_SITES` sites (that is
O(sites) per request). Larger portfolios read sums stored per scope, exactly as consumption reads
``portfolio_series``: :func:`refresh_expected_series` runs after the models are fitted (the daily pipeline's
"expected_series" step and ``portfolio fit-models``) and

- finds the views a graph can map to maintained scopes ("all"; each user's organisations; each group) with
  more sites of a fuel than the limit; every scope of such a view is maintained for that fuel (so a broker
  with many small clients still reads sums, one per client organisation);
- predicts each member site once per kind of prediction (per interval for "hh" and "hour", per local day
  for "day") over [local today - ``past_days``, local today + ``future_days``), in chunks of sites, and adds
  its buckets into every maintained scope containing it (memory stays bounded by the chunk and the scopes'
  sums);
- replaces each scope and fuel's rows and refresh row in one transaction, so a reader sees the old series or
  the new one, never half; a scope that failed keeps its previous rows. Scopes no longer over the limit are
  dropped (requests predict them live again).

Temperatures (observed and forecast) change daily, so every maintained scope is recomputed on every run.
Bucketing is :mod:`portfolio.analytics.expected`'s, the same as the request path: for the same sites and
window the table and a live computation agree.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy.orm import Session, sessionmaker

from portfolio.access import viewer_for
from portfolio.analytics.expected import (
    add_expected_sums,
    compute_expected_bounds,
    compute_expected_series,
    compute_expected_sums,
    compute_site_buckets,
    sum_site_buckets,
)
from portfolio.analytics.resolution import compute_local_axis
from portfolio.db import transaction
from portfolio.models import ExpectedSeriesRefresh
from portfolio.queries import expected as queries
from portfolio.queries.expected import load_expected_refreshes, load_expected_sums, load_scope_members
from portfolio.queries.graphs import Scope, load_all_group_ids
from portfolio.services.expected import predict_expected
from portfolio.timekeeping import (
    UK_TIME_ZONE,
    local_midnight_ts,
)

log = logging.getLogger(__name__)

MAX_EXPECTED_SITES = 100
"""The live limit: a request predicts up to this many sites itself; larger portfolios read the table."""
PAST_DAYS = 400
FUTURE_DAYS = 8
CHUNK_SITES = 50
"""Sites predicted together: their interval forecasts (a year of half hours each) are held at once."""
RESOLUTIONS = ("hh", "hour", "day")

Key = tuple[Scope, str]  # (scope, fuel)


@dataclass
class RefreshReport:
    scopes: int = 0  # scope and fuel series replaced
    sites: int = 0  # sites predicted
    sites_modelled: int = 0  # of those, sites with a forecast summed in
    rows: int = 0  # rows written
    removed: int = 0  # scope and fuel series dropped (no longer over the limit)
    errors: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "scopes": self.scopes,
            "sites": self.sites,
            "sites_modelled": self.sites_modelled,
            "rows": self.rows,
            "removed": self.removed,
            "failed": len(self.errors),
            "errors": list(self.errors),
        }


def refresh_window(now: dt.datetime, past_days: int = PAST_DAYS, future_days: int = FUTURE_DAYS) -> tuple[int, int]:
    """[local today - past_days, local today + future_days) as UTC epoch seconds of local day starts."""
    today = now.astimezone(ZoneInfo(UK_TIME_ZONE)).date()
    return (
        local_midnight_ts(today - dt.timedelta(days=past_days), UK_TIME_ZONE),
        local_midnight_ts(today + dt.timedelta(days=future_days), UK_TIME_ZONE),
    )


def _views(session: Session) -> list[tuple[Scope, ...]]:
    """The unions of scopes a portfolio graph can read: admins' "all", each user's organisations, each group."""
    views: list[tuple[Scope, ...]] = [(Scope("all", 0),)]
    for user in queries.load_viewer_users(session):
        organisation_ids = viewer_for(session, user).organisation_ids
        if organisation_ids:
            views.append(tuple(Scope("org", int(o)) for o in sorted(organisation_ids)))
    views += [(Scope("group", g),) for g in load_all_group_ids(session)]
    return list(dict.fromkeys(views))


def choose_scopes(members: pd.DataFrame, views: Sequence[tuple[Scope, ...]], limit: int) -> dict[Key, list[int]]:
    """Scope and fuel to maintain, with their member sites: every scope of a view with more than ``limit`` sites.

    ``members``: scope_kind, scope_id, site_id, fuel (:func:`queries.load_scope_members`); ``views``: the
    unions of scopes a graph reads together.
    """
    by_scope: dict[Key, list[int]] = {}
    key: Any  # a groupby key: (scope_kind, scope_id, fuel)
    for key, scope_sites in members.groupby(["scope_kind", "scope_id", "fuel"])["site_id"]:
        kind, scope_id, fuel = key
        by_scope[(Scope(str(kind), int(scope_id)), str(fuel))] = sorted(int(s) for s in scope_sites)
    fuels = sorted(set(members["fuel"]))
    chosen: dict[Key, list[int]] = {}
    for view in views:
        for fuel in fuels:
            view_sites: set[int] = set().union(*(by_scope.get((scope, fuel), []) for scope in view))
            if len(view_sites) > limit:
                # scopes without a site of the fuel need no rows: readers find nothing to add there
                chosen.update({(scope, fuel): by_scope[(scope, fuel)] for scope in view if (scope, fuel) in by_scope})
    return chosen


def _predict(
    session: Session, site_ids: list[int], lo_ts: int, hi_ts: int, report: RefreshReport
) -> tuple[dict[int, pd.DataFrame], dict[int, pd.DataFrame]]:
    """Interval and per-local-day forecasts of ``site_ids``; a site whose model fails is reported and left out."""
    errors: dict[int, str] = {}
    interval = predict_expected(session, site_ids, lo_ts, hi_ts, errors=errors)
    daily = predict_expected(session, site_ids, lo_ts, hi_ts, per_local_day=True, errors=errors)
    for site_id, error in sorted(errors.items()):
        log.warning("site %s left out of the expected series: %s", site_id, error)
        report.errors.append({"site_id": site_id, "error": error})
        interval.pop(site_id, None)
        daily.pop(site_id, None)
    return interval, daily


def _rows(key: Key, sums: dict[str, pd.DataFrame]) -> list[tuple[object, ...]]:
    scope, fuel = key
    rows: list[tuple[object, ...]] = []
    for resolution, frame in sums.items():
        rows += [
            (scope.kind, scope.id, fuel, resolution, int(ts), float(kwh), float(var), int(n))
            for ts, kwh, var, n in zip(
                frame["start_ts"].to_numpy(),
                frame["expected_kwh"].to_numpy(),
                frame["variance_kwh2"].to_numpy(),
                frame["sites"].to_numpy(),
                strict=True,
            )
        ]
    return rows


def refresh_expected_series(
    factory: sessionmaker[Session],
    now: dt.datetime | None = None,
    *,
    limit: int | None = None,
    past_days: int = PAST_DAYS,
    future_days: int = FUTURE_DAYS,
    chunk_sites: int = CHUNK_SITES,
) -> RefreshReport:
    """Recompute the expected series of every scope and fuel in a view over ``limit`` sites (see module doc)."""
    now = now or dt.datetime.now(dt.UTC)
    limit = MAX_EXPECTED_SITES if limit is None else limit
    lo_ts, hi_ts = refresh_window(now, past_days, future_days)
    report = RefreshReport()
    with factory() as session:
        members = queries.load_scope_members(session)
        targets = choose_scopes(members, _views(session), limit)
        maintained = queries.load_refreshed_scopes(session)
    for scope, fuel in sorted(maintained - set(targets), key=lambda k: (k[0].kind, k[0].id, k[1])):
        with transaction(factory) as session:
            queries.delete_expected_series(session, scope, fuel)
        report.removed += 1

    scopes_of_site: dict[int, list[Key]] = {}
    for key, site_ids in targets.items():
        for site_id in site_ids:
            scopes_of_site.setdefault(site_id, []).append(key)
    sums: dict[Key, dict[str, pd.DataFrame]] = {key: {} for key in targets}
    modelled: dict[Key, int] = dict.fromkeys(targets, 0)
    sites = sorted(scopes_of_site)
    for first in range(0, len(sites), chunk_sites):
        chunk = sites[first : first + chunk_sites]
        with factory() as session:
            interval, daily = _predict(session, chunk, lo_ts, hi_ts, report)
        report.sites += len(chunk)
        report.sites_modelled += len(set(interval) | set(daily))
        for site_id in set(interval) | set(daily):
            for key in scopes_of_site[site_id]:
                modelled[key] += 1
        for resolution in RESOLUTIONS:
            forecasts = daily if resolution == "day" else interval
            buckets = {site_id: compute_site_buckets(frame, resolution) for site_id, frame in forecasts.items()}
            touched: dict[Key, list[pd.DataFrame]] = {}
            for site_id, frame in buckets.items():
                for key in scopes_of_site[site_id]:
                    touched.setdefault(key, []).append(frame)
            for key, frames in touched.items():
                part = sum_site_buckets(pd.concat(frames, ignore_index=True))
                previous = sums[key].get(resolution)
                sums[key][resolution] = part if previous is None else add_expected_sums(previous, part)
        del interval, daily

    for key in sorted(targets, key=lambda k: (k[0].kind, k[0].id, k[1])):
        scope, fuel = key
        rows = _rows(key, sums.pop(key))
        refresh = ExpectedSeriesRefresh(
            scope_kind=scope.kind,
            scope_id=scope.id,
            fuel=fuel,
            refreshed_at=now,
            lo_ts=lo_ts,
            hi_ts=hi_ts,
            sites=len(targets[key]),
            sites_modelled=modelled[key],
        )
        try:
            with transaction(factory) as session:
                queries.replace_expected_series(session, refresh, rows)
        except Exception as error:  # noqa: BLE001 - this scope keeps its previous rows; the others go on
            log.exception("replacing the expected series of %s %s (%s) failed", scope.kind, scope.id, fuel)
            report.errors.append(
                {"scope": f"{scope.kind} {scope.id}", "fuel": fuel, "error": f"{type(error).__name__}: {error}"}
            )
            continue
        report.scopes += 1
        report.rows += len(rows)
    return report


# Reading the stored sums (graph requests) -------------------------------------------------------

INDEPENDENT = "site errors taken as independent"


def max_expected_sites() -> int:
    """The live limit (read at call time, so tests can lower it in one place)."""
    return MAX_EXPECTED_SITES


def too_many() -> str:
    return f"expected consumption is shown for up to {max_expected_sites()} sites"


def pending() -> str:
    return (
        f"expected consumption of more than {max_expected_sites()} sites is precomputed in batch: it appears "
        "after the next daily run (or portfolio fit-models)"
    )


@dataclass(frozen=True)
class StoredSums:
    """Bucket sums for a large portfolio: stored per scope, plus any small unrefreshed scopes predicted now."""

    sums: pd.DataFrame  # start_ts, expected_kwh, variance_kwh2, sites
    sites_modelled: int
    refreshed_at: dt.datetime
    window: tuple[int, int]  # the range every part covers [UTC epoch s)


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)  # SQLite drops the zone


def load_stored_sums(
    session: Session,
    site_ids: Sequence[int],
    scopes: Sequence[Scope],
    fuel: str,
    resolution: str,
    lo_ts: int,
    hi_ts: int,
) -> StoredSums | None:
    """The stored sums of ``scopes`` over [lo_ts, hi_ts), or None when they are not (all) precomputed yet.

    ``site_ids`` are the graph's sites (already access-checked); scopes of the union that were never
    refreshed (e.g. an organisation linked since the last run) are predicted live when they are small.
    """
    refreshes = load_expected_refreshes(session, scopes, fuel)
    if not refreshes:
        return None
    missing = [scope for scope in scopes if scope not in refreshes]
    live_ids: list[int] = []
    if missing:
        members = load_scope_members(session, missing)
        live_ids = sorted(set(members.loc[members["fuel"] == fuel, "site_id"].astype(int)) & {int(s) for s in site_ids})
        if len(live_ids) > max_expected_sites():
            return None
    window = (max(r.lo_ts for r in refreshes.values()), min(r.hi_ts for r in refreshes.values()))
    sums = load_expected_sums(session, list(refreshes), fuel, resolution, lo_ts, hi_ts)
    modelled = sum(r.sites_modelled for r in refreshes.values())
    lo, hi = max(lo_ts, window[0]), min(hi_ts, window[1])
    if live_ids and lo < hi:
        forecasts = predict_expected(session, live_ids, lo, hi, per_local_day=resolution == "day")
        modelled += len(forecasts)
        sums = add_expected_sums(sums, compute_expected_sums(forecasts, resolution))
    return StoredSums(sums, modelled, min(_aware(r.refreshed_at) for r in refreshes.values()), window)


def when_text(moment: dt.datetime) -> str:
    return moment.astimezone(ZoneInfo(UK_TIME_ZONE)).strftime("%-d %b %Y %H:%M %Z")


def day_text(ts: int) -> str:
    return dt.datetime.fromtimestamp(ts, ZoneInfo(UK_TIME_ZONE)).strftime("%-d %b %Y")


def _precomputed_series(
    session: Session,
    site_ids: Sequence[int],
    scopes: Sequence[Scope],
    fuel: str,
    resolution: str,
    lo_ts: int,
    hi_ts: int,
    time_zone: str,
) -> tuple[pd.DataFrame | None, str]:
    stored = load_stored_sums(session, site_ids, scopes, fuel, resolution, lo_ts, hi_ts)
    if stored is None:
        return None, pending()
    if stored.sites_modelled == 0:
        return None, "no site has a consumption model yet"
    if stored.sums.empty:
        return None, (
            f"expected consumption is precomputed for {day_text(stored.window[0])} to {day_text(stored.window[1] - 1)}"
            f" only (last computed {when_text(stored.refreshed_at)})"
        )
    series = compute_expected_bounds(stored.sums)
    on_axis = compute_local_axis(lo_ts, hi_ts, resolution, time_zone).merge(series, on="start_ts", how="left")
    return on_axis, (
        f"expected consumption from the temperature models of {stored.sites_modelled} of {len(site_ids)} "
        f"sites, precomputed {when_text(stored.refreshed_at)} ({INDEPENDENT})"
    )


def make_expected_series(
    session: Session,
    site_ids: Sequence[int],
    resolution: str,
    lo_ts: int,
    hi_ts: int,
    time_zone: str,
    scopes: Sequence[Scope] | None = None,
    fuel: str | None = None,
) -> tuple[pd.DataFrame | None, str]:
    """The expected series on the graph's local axis over [lo_ts, hi_ts), and a note on what it covers.

    ``scopes``: the maintained scopes whose union is exactly ``site_ids`` (``services.graphs._scopes``), or
    None; with ``fuel`` they let a portfolio over the live limit read the precomputed sums.
    """
    if not site_ids:
        return None, ""
    if resolution == "day":  # whole local days, as stored: never a part-day total in the first or last bucket
        first, last = (dt.datetime.fromtimestamp(t, ZoneInfo(time_zone)).date() for t in (lo_ts, hi_ts - 1))
        lo_ts, hi_ts = local_midnight_ts(first, time_zone), local_midnight_ts(last + dt.timedelta(days=1), time_zone)
    if len(site_ids) > max_expected_sites():
        if scopes is None or fuel is None:
            return None, too_many()
        return _precomputed_series(session, site_ids, scopes, fuel, resolution, lo_ts, hi_ts, time_zone)
    forecasts = predict_expected(session, site_ids, lo_ts, hi_ts, per_local_day=resolution == "day")
    if not forecasts:
        return None, "no site has a consumption model yet"
    series = compute_expected_series(forecasts, resolution)
    axis = compute_local_axis(lo_ts, hi_ts, resolution, time_zone)
    on_axis = axis.merge(series, on="start_ts", how="left")
    return on_axis, f"expected consumption from the temperature models of {len(forecasts)} of {len(site_ids)} sites"
