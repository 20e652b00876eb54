"""Stored expected consumption: every site's predictions, kept current in batch, and per-scope sums of large views.

No model predicts inside a web request. The batch (``portfolio fit-models``, the daily run, a weather import)
calls :func:`refresh_expected_series`: each site with a usable model gets its expected energy [kWh] and variance
[kWh²] stored per half hour, hour and local day over [today - PAST_DAYS, today + FUTURE_DAYS) (``site_expected``);
a site refitted since its rows were written is recomputed whole, the others only over the last RECENT_DAYS and the
forecast days (where observed temperatures replace forecasts and new forecasts arrive).

Every scope of a view with more than ``SUMMED_SCOPE_SITES`` sites also has its sums stored (``expected_series``).
They are kept current by difference: each replaced site's new rows minus its old ones are added to every
maintained scope holding it (once per run, after its sites), and group edits, site moves and opt-outs add or take
away a site's rows as they happen. A sum is rebuilt from its members' rows only when it is new or its daily sums
no longer match them (something bypassed the differences). At 1,000 sites a daily run rewrites a seventh of them
whole (weekly refits); rebuilding every scope over the window took a minute, the differences take seconds.

Graphs read sums: a maintained scope's stored sums, or any set of sites' stored rows added per bucket in SQL; a
portfolio of any size reads a few hundred summed rows.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session, sessionmaker

from portfolio.access import viewer_for
from portfolio.analytics.expected import (
    RESOLUTIONS,
    add_deltas,
    add_expected_sums,
    compute_expected_bounds,
    compute_site_buckets,
)
from portfolio.analytics.resolution import compute_local_axis
from portfolio.db import transaction
from portfolio.models import ExpectedSeriesRefresh, SiteExpectedState
from portfolio.queries import expected as queries
from portfolio.queries import expected_series as series_queries
from portfolio.queries.expected_series import load_expected_refreshes, load_expected_sums, load_scope_members
from portfolio.queries.graphs import Scope, load_all_group_ids
from portfolio.services import expected_scope_sums as scope_sums
from portfolio.services.expected import predict_expected
from portfolio.services.expected_scope_sums import Key
from portfolio.services.missing_estimates import refresh_missing_estimates
from portfolio.timekeeping import (
    UK_TIME_ZONE,
    local_midnight_ts,
)

log = logging.getLogger(__name__)

SUMMED_SCOPE_SITES = 20
"""Scopes of views with more sites than this also get stored sums; smaller views add their sites' rows in SQL.

Adding the rows costs about 0.5 ms per site for a month of hours (SQLite: 35 ms at 100 sites, against 5 ms for
the stored sums of a 101-site view); kept by difference, a maintained scope costs the daily run little."""
PAST_DAYS = 400
FUTURE_DAYS = 8
RECENT_DAYS = 10
"""A site whose model did not change is recomputed over the last RECENT_DAYS local days and the forecast days only."""
CHUNK_SITES = 50
"""Sites predicted together: their interval forecasts (a year of half hours each) are held at once."""


@dataclass
class RefreshReport:
    scopes: int = 0  # scope and fuel series brought up to date
    scopes_rebuilt: int = 0  # of those, summed afresh from their sites' rows (new, or no longer adding up)
    sites: int = 0  # sites predicted
    sites_modelled: int = 0  # of those, sites whose predictions are stored
    sites_whole: int = 0  # of those, predicted over the whole window (new or refitted models)
    site_rows: int = 0  # per-site rows written
    estimate_rows: int = 0  # per-site and day estimates of missing intervals written (``missing_estimates``)
    rows: int = 0  # scope sum rows the maintained scopes hold
    removed: int = 0  # scope and fuel series dropped (no longer over the limit)
    errors: list[dict[str, Any]] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)  # wall time per step: sites, scopes, estimates [s]

    def as_json(self) -> dict[str, Any]:
        return {
            "seconds": dict(self.seconds),
            "scopes": self.scopes,
            "scopes_rebuilt": self.scopes_rebuilt,
            "sites": self.sites,
            "sites_modelled": self.sites_modelled,
            "sites_whole": self.sites_whole,
            "site_rows": self.site_rows,
            "estimate_rows": self.estimate_rows,
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
    for user in series_queries.load_viewer_users(session):
        organisation_ids = viewer_for(session, user).organisation_ids
        if organisation_ids:
            views.append(tuple(Scope("org", int(o)) for o in sorted(organisation_ids)))
    views += [(Scope("group", g),) for g in load_all_group_ids(session)]
    return list(dict.fromkeys(views))


def choose_scopes(members: pd.DataFrame, views: Sequence[tuple[Scope, ...]], limit: int) -> dict[Key, list[int]]:
    """Scope and fuel to maintain, with their member sites: every scope of a view with more than ``limit`` sites.

    ``members``: scope_kind, scope_id, site_id, fuel (:func:`series_queries.load_scope_members`); ``views``: the
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


def _site_rows(site_id: int, interval: pd.DataFrame | None, daily: pd.DataFrame | None) -> dict[str, pd.DataFrame]:
    """One site's forecasts on the stored buckets, per resolution (start_ts, expected_kwh, variance_kwh2)."""
    rows = {}
    if interval is not None:
        rows["hh"] = compute_site_buckets(interval, "hh")
        rows["hour"] = compute_site_buckets(interval, "hour")
    if daily is not None:
        rows["day"] = compute_site_buckets(daily, "day")
    return rows


def _refresh_chunk(
    factory: sessionmaker[Session],
    chunk: list[int],
    lo_ts: int,
    window: tuple[int, int],
    fitted_at: dict[int, dt.datetime],
    now: dt.datetime,
    summed: scope_sums.Summed,
    report: RefreshReport,
) -> pd.DataFrame:
    """Predict and store one chunk of sites; returns what it changes in the maintained scope sums (applied by
    the caller once for the whole run: a refitted chunk changes every bucket of every scope it is in)."""
    with factory() as session:
        interval, daily = _predict(session, chunk, lo_ts, window[1], report)
    with transaction(factory) as session:
        failed = [s for s in chunk if s not in interval and s not in daily]  # no weather location, or a failed model
        deltas = [scope_sums.forgotten(session, failed, window, summed)]
        queries.delete_site_expected(session, failed)
        replaced: dict[int, tuple[dict[str, int], pd.DataFrame]] = {}
        for site_id in chunk:
            if site_id in failed:
                continue
            parts = _site_rows(site_id, interval.get(site_id), daily.get(site_id))
            from_ts = dict.fromkeys(RESOLUTIONS, lo_ts)
            for resolution, frame in parts.items():
                if len(frame):
                    from_ts[resolution] = min(lo_ts, int(frame["start_ts"].min()))  # a local day may start before
            replaced[site_id] = (from_ts, _as_site_rows(site_id, parts))
        in_scopes = [s for s in replaced if s in summed.of_site]
        old = scope_sums.rows_replaced(session, {s: replaced[s][0] for s in in_scopes}, window)
        for site_id, (from_ts, rows) in replaced.items():
            state = SiteExpectedState(
                site_id=site_id, model_fitted_at=fitted_at[site_id], lo_ts=window[0], hi_ts=window[1], computed_at=now
            )
            values = zip(
                rows["site_id"].tolist(),
                rows["resolution"].astype(str).tolist(),
                rows["start_ts"].tolist(),
                rows["expected_kwh"].tolist(),
                rows["variance_kwh2"].tolist(),
                strict=True,
            )
            queries.replace_site_expected(session, site_id, from_ts, list(values), state)
            report.site_rows += len(rows)
            report.sites_modelled += 1
        new = pd.concat([replaced[s][1] for s in in_scopes], ignore_index=True) if in_scopes else old.iloc[:0]
        deltas.append(scope_sums.scope_deltas(old, new, window, summed))
    return add_deltas(deltas)


def _as_site_rows(site_id: int, parts: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """One site's buckets per resolution as :data:`SITE_ROW_COLUMNS` rows."""
    frames = [frame for frame in parts.values() if len(frame)]
    if not frames:
        return queries.empty_site_rows()
    return pd.DataFrame(
        {
            "site_id": np.full(sum(len(f) for f in frames), site_id, dtype=np.int64),
            "resolution": pd.Categorical(
                np.concatenate([np.full(len(f), r) for r, f in parts.items() if len(f)]), categories=RESOLUTIONS
            ),
            "start_ts": np.concatenate([f["start_ts"].to_numpy(dtype=np.int64) for f in frames]),
            "expected_kwh": np.concatenate([f["expected_kwh"].to_numpy(dtype=np.float64) for f in frames]),
            "variance_kwh2": np.concatenate([f["variance_kwh2"].to_numpy(dtype=np.float64) for f in frames]),
        }
    )


def refresh_site_expected(
    factory: sessionmaker[Session],
    now: dt.datetime | None = None,
    *,
    site_ids: Sequence[int] | None = None,
    full: bool = False,
    past_days: int = PAST_DAYS,
    future_days: int = FUTURE_DAYS,
    recent_days: int = RECENT_DAYS,
    chunk_sites: int = CHUNK_SITES,
    report: RefreshReport | None = None,
) -> RefreshReport:
    """Store the predictions of every site with a usable model (or of ``site_ids``); drop those of the others.

    A site refitted since its rows were written (or ``full``) is predicted over the whole window, any other over the
    last ``recent_days`` and the forecast days, where new observed and forecast temperatures change it.
    """
    now = now or dt.datetime.now(dt.UTC)
    report = report or RefreshReport()
    window = refresh_window(now, past_days, future_days)
    recent_lo = refresh_window(now, min(recent_days, past_days), future_days)[0]
    with factory() as session:
        fits = queries.load_model_fits(session, site_ids)
        states = queries.load_expected_states(session, site_ids)
    ok = fits[fits["status"] == "ok"]
    fitted_at = {int(s): _aware(f) for s, f in zip(ok["site_id"], ok["fitted_at"], strict=True)}
    gone = sorted(set(states) - set(fitted_at))
    with factory() as session:
        summed = scope_sums.Summed.load(session)
    deltas = []
    if gone:
        with transaction(factory) as session:
            deltas.append(scope_sums.forgotten(session, gone, window, summed))
            queries.delete_site_expected(session, gone)
    whole = [s for s in fitted_at if full or s not in states or _aware(states[s].model_fitted_at) != fitted_at[s]]
    recent = [s for s in fitted_at if s not in set(whole)]
    for ids, lo_ts in ((whole, window[0]), (recent, recent_lo)):
        for first in range(0, len(ids), chunk_sites):
            chunk = ids[first : first + chunk_sites]
            deltas.append(_refresh_chunk(factory, chunk, lo_ts, window, fitted_at, now, summed, report))
            report.sites += len(chunk)
    report.sites_whole += len(whole)
    with transaction(factory) as session:  # the scope sums follow the site rows, and cover the same window
        scope_sums.apply_deltas(session, add_deltas(deltas), summed)
        queries.prune_site_expected(session, window[0])
        series_queries.prune_expected_series(session, window[0], window[1])
    return report


def refresh_expected_series(
    factory: sessionmaker[Session],
    now: dt.datetime | None = None,
    *,
    limit: int | None = None,
    past_days: int = PAST_DAYS,
    future_days: int = FUTURE_DAYS,
    recent_days: int = RECENT_DAYS,
    chunk_sites: int = CHUNK_SITES,
    full: bool = False,
) -> RefreshReport:
    """Keep every site's stored predictions current, rebuild the sums of large views' scopes from them, then store
    every site's per-day estimates of its missing intervals (``services/missing_estimates.py``)."""
    now = now or dt.datetime.now(dt.UTC)
    limit = summed_scope_sites() if limit is None else limit
    began = time.perf_counter()
    report = refresh_site_expected(
        factory,
        now,
        full=full,
        past_days=past_days,
        future_days=future_days,
        recent_days=recent_days,
        chunk_sites=chunk_sites,
    )
    report.seconds["sites"] = round(time.perf_counter() - began, 2)
    began = time.perf_counter()
    lo_ts, hi_ts = refresh_window(now, past_days, future_days)
    with factory() as session:
        members = series_queries.load_scope_members(session)
        targets = choose_scopes(members, _views(session), limit)
        maintained = series_queries.load_refreshed_scopes(session)
        predicted = set(queries.load_expected_states(session))
    for scope, fuel in sorted(maintained - set(targets), key=lambda k: (k[0].kind, k[0].id, k[1])):
        with transaction(factory) as session:
            series_queries.delete_expected_series(session, scope, fuel)
        report.removed += 1
    for key in sorted(targets, key=scope_sums.key_order):
        scope, fuel = key
        refresh = ExpectedSeriesRefresh(
            scope_kind=scope.kind,
            scope_id=scope.id,
            fuel=fuel,
            refreshed_at=now,
            lo_ts=lo_ts,
            hi_ts=hi_ts,
            sites=len(targets[key]),
            sites_modelled=len(predicted & set(targets[key])),
        )
        try:
            with transaction(factory) as session:
                if key in maintained and scope_sums.sums_hold(session, scope, fuel, targets[key], lo_ts, hi_ts):
                    rows = series_queries.replace_expected_refresh(session, refresh)  # kept current chunk by chunk
                else:  # new, or its sums no longer add up to its members' rows: rebuilt from them
                    rows = series_queries.replace_expected_series_from_sites(session, refresh, targets[key])
                    report.scopes_rebuilt += 1
        except Exception as error:  # noqa: BLE001 - this scope keeps its previous rows; the others go on
            log.exception("replacing the expected series of %s %s (%s) failed", scope.kind, scope.id, fuel)
            report.errors.append(
                {"scope": f"{scope.kind} {scope.id}", "fuel": fuel, "error": f"{type(error).__name__}: {error}"}
            )
            continue
        report.scopes += 1
        report.rows += rows
    report.seconds["scopes"] = round(time.perf_counter() - began, 2)
    began = time.perf_counter()
    estimates = refresh_missing_estimates(
        factory, now, full=full, past_days=past_days, recent_days=recent_days, chunk_sites=max(chunk_sites, 100)
    )  # made from the predictions just stored
    report.estimate_rows += estimates.rows
    report.errors += estimates.errors
    report.seconds["estimates"] = round(time.perf_counter() - began, 2)
    return report


# Reading the stored sums (graph requests) -------------------------------------------------------

INDEPENDENT = "site errors taken as independent"
NO_MODEL = "no expected consumption stored for these sites yet (no model, or not computed since the last fit)"


def summed_scope_sites() -> int:
    """Views over this many sites get stored scope sums (read at call time, so tests can lower it in one place)."""
    return SUMMED_SCOPE_SITES


def pending() -> str:
    return "expected consumption is computed in batch: it appears after the next daily run (or portfolio fit-models)"


@dataclass(frozen=True)
class StoredSums:
    """Bucket sums of a set of sites read from storage: scope sums and/or per-site rows added in SQL."""

    sums: pd.DataFrame  # start_ts, expected_kwh, variance_kwh2, sites
    sites_modelled: int
    refreshed_at: dt.datetime | None  # the oldest computation summed in; None when no site has predictions
    window: tuple[int, int]  # the range every part covers [UTC epoch s)


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)  # SQLite drops the zone


def load_site_sums(session: Session, site_ids: Sequence[int], resolution: str, lo_ts: int, hi_ts: int) -> StoredSums:
    """Any set of sites (already access-checked): their stored rows added per bucket in SQL."""
    states = queries.load_expected_states(session, site_ids)
    sums = queries.load_site_expected_sums(session, list(states), resolution, lo_ts, hi_ts) if states else None
    if sums is None:
        sums = queries.load_site_expected_sums(session, [], resolution, lo_ts, hi_ts)
    window = (
        (max(s.lo_ts for s in states.values()), min(s.hi_ts for s in states.values())) if states else (lo_ts, lo_ts)
    )
    when = min(_aware(s.computed_at) for s in states.values()) if states else None
    return StoredSums(sums, len(states), when, window)


def load_stored_sums(
    session: Session,
    site_ids: Sequence[int],
    scopes: Sequence[Scope] | None,
    fuel: str | None,
    resolution: str,
    lo_ts: int,
    hi_ts: int,
) -> StoredSums:
    """The stored sums of ``site_ids`` over [lo_ts, hi_ts): maintained scope sums where ``scopes`` (whose union is
    exactly ``site_ids``) have them, the sites' own stored rows added in SQL for the rest.
    """
    refreshes = load_expected_refreshes(session, scopes, fuel) if scopes and fuel else {}
    if not refreshes:
        return load_site_sums(session, site_ids, resolution, lo_ts, hi_ts)
    missing = [scope for scope in scopes or [] if scope not in refreshes]
    sums = load_expected_sums(session, list(refreshes), fuel or "", resolution, lo_ts, hi_ts)
    modelled = sum(r.sites_modelled for r in refreshes.values())
    window = (max(r.lo_ts for r in refreshes.values()), min(r.hi_ts for r in refreshes.values()))
    when = min(_aware(r.refreshed_at) for r in refreshes.values())
    if missing:  # e.g. an organisation linked since the last run: its sites' own rows
        members = load_scope_members(session, missing)
        live_ids = sorted(set(members.loc[members["fuel"] == fuel, "site_id"].astype(int)) & {int(s) for s in site_ids})
        if live_ids:
            live = load_site_sums(session, live_ids, resolution, lo_ts, hi_ts)
            sums = add_expected_sums(sums, live.sums)
            modelled += live.sites_modelled
            if live.refreshed_at is not None:
                when = min(when, live.refreshed_at)
    return StoredSums(sums, modelled, when, window)


def when_text(moment: dt.datetime) -> str:
    return moment.astimezone(ZoneInfo(UK_TIME_ZONE)).strftime("%-d %b %Y %H:%M %Z")


def day_text(ts: int) -> str:
    return dt.datetime.fromtimestamp(ts, ZoneInfo(UK_TIME_ZONE)).strftime("%-d %b %Y")


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

    Read from storage for any number of sites. ``scopes``: the maintained scopes whose union is exactly
    ``site_ids`` (``services.graphs_sites.graph_scopes``), or None; with ``fuel`` a large view reads their stored sums.
    """
    if not site_ids:
        return None, ""
    if resolution == "day":  # whole local days, as stored: never a part-day total in the first or last bucket
        first, last = (dt.datetime.fromtimestamp(t, ZoneInfo(time_zone)).date() for t in (lo_ts, hi_ts - 1))
        lo_ts, hi_ts = local_midnight_ts(first, time_zone), local_midnight_ts(last + dt.timedelta(days=1), time_zone)
    large = len(site_ids) > summed_scope_sites()  # smaller views add their sites' rows: a few ms, no scope needed
    stored = load_stored_sums(session, site_ids, scopes if large else None, fuel, resolution, lo_ts, hi_ts)
    if stored.sites_modelled == 0 or stored.refreshed_at is None:
        return None, NO_MODEL
    if stored.sums.empty:
        return None, (
            f"expected consumption is stored for {day_text(stored.window[0])} to {day_text(stored.window[1] - 1)}"
            f" only (last computed {when_text(stored.refreshed_at)})"
        )
    series = compute_expected_bounds(stored.sums)
    on_axis = compute_local_axis(lo_ts, hi_ts, resolution, time_zone).merge(series, on="start_ts", how="left")
    return on_axis, (
        f"expected consumption from the temperature models of {stored.sites_modelled} of {len(site_ids)} "
        f"sites, computed {when_text(stored.refreshed_at)} ({INDEPENDENT})"
    )
