"""Keep ``portfolio_series`` current: the per-scope sums that make portfolio graphs fast at 1,000 sites.

Scopes are every portfolio group, every organisation and "all" (admins). Three events change them:

- an import: per site, never per scope, so loading many sites one file at a time stays linear. A site
  that had no readings before adds its incoming readings, aggregated in pandas (:func:`add_new_sites`);
  a site with earlier data has its old contribution over the file's span subtracted before the readings
  are stored and its new one added after (:func:`subtract_site_span`, :func:`add_site_span`), each a
  GROUP BY over that one site's readings in the span;
- a site moved between organisations: :func:`move_site_organisation`;
- a group change: :func:`add_group_sites` / :func:`remove_group_sites` add or subtract just the changed
  sites' own series (rows whose last site left are deleted); :func:`drop_group` forgets a deleted group;
- a repair: :func:`rebuild_all` (``portfolio rebuild-series``) recomputes everything from readings.

Nothing here commits: the caller's transaction decides, exactly as for the readings themselves.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

import pandas as pd
from sqlalchemy.orm import Session

from portfolio.queries import series as queries
from portfolio.queries.graphs import (
    Scope,
    load_all_group_ids,
    load_group_ids_with_sites,
)
from portfolio.timekeeping import READING_RESOLUTIONS, RESOLUTION_SECONDS, local_date_span, local_day_start_ts

ALL_SCOPE = Scope("all", 0)
READING_SECONDS = {resolution: RESOLUTION_SECONDS[resolution] for resolution in READING_RESOLUTIONS}
"""The resolutions bucketed straight from readings [s]; "day" comes from the daily roll-up."""
RESOLUTIONS = ("hh", "hour", "day")
_FAR_PAST, _FAR_FUTURE = -(2**40), 2**40


def scopes_for_sites(session: Session, site_ids: Iterable[int]) -> list[Scope]:
    """Every maintained scope that contains at least one of ``site_ids``."""
    ids = sorted(set(site_ids))
    if not ids:
        return []
    orgs = queries.load_organisation_ids(session, ids)
    groups = load_group_ids_with_sites(session, ids)
    return [ALL_SCOPE, *(Scope("org", o) for o in orgs), *(Scope("group", g) for g in groups)]


def refresh_scope(session: Session, scope: Scope, lo_ts: int = _FAR_PAST, hi_ts: int = _FAR_FUTURE) -> None:
    """Recompute ``scope``'s series over [lo_ts, hi_ts) (widened to whole buckets and local days)."""
    members = queries.members_sql(scope)
    for resolution, seconds in READING_SECONDS.items():
        lo, hi = (lo_ts // seconds) * seconds, -(-hi_ts // seconds) * seconds
        queries.delete_series(session, scope, resolution, lo, hi)
        queries.insert_interval_series(session, scope, resolution, members, lo, hi)
    if lo_ts == _FAR_PAST:
        first, last = dt.date.min, dt.date.max
        day_lo, day_hi = _FAR_PAST, _FAR_FUTURE
    else:
        first, last = local_date_span(lo_ts, hi_ts)
        day_lo, day_hi = local_day_start_ts([first, last + dt.timedelta(days=1)])
    queries.delete_series(session, scope, "day", day_lo, day_hi)
    queries.write_daily_series(
        session, queries.load_daily_series_rows(session, scope, members, first, last, 1), accumulate=False
    )


def refresh_for_sites(session: Session, site_ids: Iterable[int], lo_ts: int, hi_ts: int) -> None:
    """After readings of ``site_ids`` in [lo_ts, hi_ts) changed (and their daily roll-up), refresh every scope."""
    session.flush()
    for scope in scopes_for_sites(session, site_ids):
        refresh_scope(session, scope, lo_ts, hi_ts)


def _apply_span(session: Session, site_id: int, lo_ts: int, hi_ts: int, sign: int) -> None:
    """Add (1) or subtract (-1) one site's series over [lo_ts, hi_ts), widened to whole buckets, in its scopes."""
    session.flush()
    members = queries.site_ids_sql([site_id])
    first, last = local_date_span(lo_ts, hi_ts)
    for scope in scopes_for_sites(session, [site_id]):
        for resolution, seconds in READING_SECONDS.items():
            lo, hi = (lo_ts // seconds) * seconds, -(-hi_ts // seconds) * seconds
            queries.insert_interval_series(session, scope, resolution, members, lo, hi, sign=sign, accumulate=True)
        queries.write_daily_series(
            session, queries.load_daily_series_rows(session, scope, members, first, last, sign), accumulate=True
        )
        if sign > 0:  # buckets the site alone made: gone if its readings there were replaced by none
            queries.delete_empty_buckets(session, scope)


def subtract_site_span(session: Session, site_id: int, lo_ts: int, hi_ts: int) -> None:
    """Before a site's readings in [lo_ts, hi_ts) and its daily roll-up change: take its part out."""
    _apply_span(session, site_id, lo_ts, hi_ts, -1)


def add_site_span(session: Session, site_id: int, lo_ts: int, hi_ts: int) -> None:
    """After they changed: put its part back, now from the new readings."""
    _apply_span(session, site_id, lo_ts, hi_ts, 1)


def _bucket_rows(readings: pd.DataFrame, resolution: str, seconds: int) -> pd.DataFrame:
    """Sum readings of many sites into buckets per (fuel, location); a site counts once per bucket."""
    keep = readings["interval_seconds"].to_numpy() <= seconds  # as in SQL: no invented shorter buckets
    frame = readings.loc[keep, ["fuel", "location", "site_id", "energy_kwh", "estimated"]]
    frame = frame.assign(start_ts=readings["start_ts"].to_numpy()[keep] // seconds * seconds)
    per_site = frame.groupby(["fuel", "location", "start_ts", "site_id"], sort=False).sum().reset_index()
    summed = per_site.groupby(["fuel", "location", "start_ts"], sort=False).agg(
        energy_kwh=("energy_kwh", "sum"), sites_reporting=("site_id", "size"), estimated_intervals=("estimated", "sum")
    )
    return summed.reset_index().assign(resolution=resolution)


def _day_rows(dailies: Sequence[tuple[str, int, pd.DataFrame]]) -> pd.DataFrame:
    frames = [daily.assign(fuel=fuel, location=location) for fuel, location, daily in dailies if len(daily)]
    if not frames:
        return pd.DataFrame()
    days = pd.concat(frames, ignore_index=True)
    days["local_date"] = pd.to_datetime(days["local_date"]).dt.date
    summed = (
        days.groupby(["fuel", "location", "local_date"], sort=False)
        .agg(
            energy_kwh=("energy_kwh", "sum"),
            sites_reporting=("energy_kwh", "size"),
            estimated_intervals=("estimated_intervals", "sum"),
        )
        .reset_index()
    )
    summed["start_ts"] = local_day_start_ts(summed["local_date"])
    return summed.drop(columns="local_date").assign(resolution="day")


def add_new_sites(session: Session, contributions: Sequence[tuple[int, pd.DataFrame, pd.DataFrame]]) -> None:
    """Add sites that had no readings before this import, from their incoming readings and daily roll-up.

    ``contributions``: (site id, clean readings frame, daily roll-up frame with local_date, energy_kwh,
    estimated_intervals). Sites sharing the same scopes are summed together in pandas first, so a bulk
    load of many sites writes each scope's buckets once.
    """
    if not contributions:
        return
    site_ids = [site_id for site_id, _, _ in contributions]
    facts = queries.load_site_facts(session, site_ids)
    groups = queries.load_site_group_ids(session, site_ids)
    by_scopes: dict[tuple[Scope, ...], list[tuple[int, pd.DataFrame, pd.DataFrame]]] = {}
    for site_id, frame, daily in contributions:
        scopes = (
            ALL_SCOPE,
            Scope("org", facts[site_id][2]),
            *(Scope("group", g) for g in sorted(groups.get(site_id, []))),
        )
        by_scopes.setdefault(scopes, []).append((site_id, frame, daily))
    columns = ["fuel", "resolution", "start_ts", "location", "energy_kwh", "sites_reporting", "estimated_intervals"]
    records: list[tuple[object, ...]] = []
    for scopes, members in by_scopes.items():
        readings = pd.concat(
            [
                frame[["start_ts", "interval_seconds", "energy_kwh", "estimated"]].assign(
                    site_id=site_id, fuel=facts[site_id][0], location=facts[site_id][1]
                )
                for site_id, frame, _ in members
            ],
            ignore_index=True,
        )
        readings["estimated"] = readings["estimated"].astype("int64")
        parts = [_bucket_rows(readings, resolution, seconds) for resolution, seconds in READING_SECONDS.items()]
        parts.append(_day_rows([(facts[s][0], facts[s][1], daily) for s, _, daily in members]))
        parts = [p for p in parts if len(p)]
        if not parts:  # e.g. only monthly billing reads: no interval or day buckets to add
            continue
        rows = pd.concat(parts, ignore_index=True)[columns]
        values = list(zip(*(rows[c].to_numpy().tolist() for c in columns), strict=True))
        records += [(scope.kind, scope.id, *row) for scope in scopes for row in values]
    if not records:
        return
    session.flush()
    queries.insert_series_records(session, records)


def _apply_sites(session: Session, scope: Scope, site_ids: Sequence[int], sign: int) -> None:
    """Add (sign 1) or subtract (sign -1) the series of ``site_ids`` to ``scope``'s, over all time."""
    if not site_ids:
        return
    session.flush()
    members = queries.site_ids_sql(site_ids)
    for resolution in READING_SECONDS:
        queries.insert_interval_series(
            session, scope, resolution, members, _FAR_PAST, _FAR_FUTURE, sign=sign, accumulate=True
        )
    queries.write_daily_series(
        session,
        queries.load_daily_series_rows(session, scope, members, dt.date.min, dt.date.max, sign),
        accumulate=True,
    )
    if sign < 0:
        queries.delete_empty_buckets(session, scope)


def add_group_sites(session: Session, group_id: int, site_ids: Sequence[int]) -> None:
    """Sites just added to a group: add their series to the group's."""
    _apply_sites(session, Scope("group", int(group_id)), site_ids, 1)


def remove_group_sites(session: Session, group_id: int, site_ids: Sequence[int]) -> None:
    """Sites about to leave a group (call before removing them): subtract their series."""
    _apply_sites(session, Scope("group", int(group_id)), site_ids, -1)


def move_site_organisation(session: Session, site_id: int, old_organisation_id: int, new_organisation_id: int) -> None:
    """A site changing organisation: subtract its series from the old organisation's and add them to the new's.

    "all" is unchanged; groups the site leaves are handled by :func:`remove_group_sites` (call it first).
    """
    _apply_sites(session, Scope("org", int(old_organisation_id)), [site_id], -1)
    _apply_sites(session, Scope("org", int(new_organisation_id)), [site_id], 1)


def drop_group(session: Session, group_id: int) -> None:
    queries.delete_group_series(session, group_id)


def rebuild_all(session: Session) -> int:
    """Recompute every scope from the readings; return how many scopes were rebuilt."""
    session.flush()
    queries.delete_all_series(session)
    scopes = [ALL_SCOPE, *(Scope("org", o) for o in queries.load_organisation_ids(session))]
    scopes += [Scope("group", g) for g in load_all_group_ids(session)]
    for scope in scopes:
        refresh_scope(session, scope)
    return len(scopes)
