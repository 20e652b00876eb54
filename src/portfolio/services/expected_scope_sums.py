"""Maintained expected-consumption sums of large views' scopes, kept current by difference.

A scope's stored sums (``expected_series``) equal its members' stored predictions (``site_expected``) added per
bucket. The daily run (``services/expected_series.py``) adds each replaced site's new rows minus its old ones to every
maintained scope holding it (:func:`scope_deltas`, :func:`apply_deltas`) and rebuilds a sum only when its daily
figures no longer match its members' (:func:`sums_hold`). Changes outside the run adjust the sums as they happen,
in the caller's transaction: sites joining or leaving a group or an organisation (:func:`change_scope_members`), a
group deleted (:func:`drop_scope_sums`), half-hourly predictions dropped on an opt-out
(:func:`forget_site_predictions`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from portfolio.analytics.expected import RESOLUTIONS, compute_scope_deltas, empty_deltas
from portfolio.models import Fuel
from portfolio.queries import expected as queries
from portfolio.queries import expected_series as series_queries
from portfolio.queries.expected_series import load_expected_refreshes
from portfolio.queries.graphs import Scope

Key = tuple[Scope, str]  # (scope, fuel)


@dataclass(frozen=True)
class Summed:
    """The maintained scope sums each site is added into, as indexes into ``keys`` (what the deltas carry)."""

    keys: list[Key]
    of_site: dict[int, list[int]]

    @classmethod
    def load(cls, session: Session) -> Summed:
        members = series_queries.load_maintained_members(session)
        keys = sorted({key for found in members.values() for key in found}, key=key_order)
        index = {key: n for n, key in enumerate(keys)}
        return cls(keys, {site: [index[key] for key in found] for site, found in members.items()})


def rows_replaced(session: Session, from_ts: dict[int, dict[str, int]], window: tuple[int, int]) -> pd.DataFrame:
    """The stored rows of these sites within the window that their replacement from ``from_ts`` removes."""
    if not from_ts:
        return queries.empty_site_rows()
    lowest = {r: max(window[0], min(f[r] for f in from_ts.values())) for r in RESOLUTIONS}
    old = queries.load_site_rows(session, list(from_ts), lowest, window[1])
    if all(f == lowest for f in from_ts.values()):
        return old
    sites = list(from_ts)
    first = np.array([[max(window[0], from_ts[s][r]) for r in RESOLUTIONS] for s in sites], dtype=np.int64)
    row_first = first[
        pd.Index(sites).get_indexer(pd.Index(old["site_id"])),
        old["resolution"].cat.codes.to_numpy(dtype=np.int64),
    ]
    return old[old["start_ts"].to_numpy(dtype=np.int64) >= row_first]


def scope_deltas(old: pd.DataFrame, new: pd.DataFrame, window: tuple[int, int], summed: Summed) -> pd.DataFrame:
    """New minus old rows of changed sites, in the window, per maintained scope holding them."""
    inside = [f[(f["start_ts"] >= window[0]) & (f["start_ts"] < window[1])] for f in (old, new)]
    return compute_scope_deltas(inside[0], inside[1], summed.of_site, len(summed.keys))


def forgotten(session: Session, site_ids: Sequence[int], window: tuple[int, int], summed: Summed) -> pd.DataFrame:
    """What dropping these sites' stored rows in the window takes out of the maintained scope sums."""
    ids = [int(s) for s in site_ids if int(s) in summed.of_site]
    if not ids:
        return empty_deltas()
    old = queries.load_site_rows(session, ids, dict.fromkeys(RESOLUTIONS, window[0]), window[1])
    return scope_deltas(old, old.iloc[:0], window, summed)


def apply_deltas(session: Session, deltas: pd.DataFrame, summed: Summed) -> None:
    """Add changes to the stored scope sums; buckets no site is summed into any more go."""
    if deltas.empty:
        return
    keys = [summed.keys[n] for n in deltas["scope"].tolist()]
    series_queries.add_to_expected_series(
        session,
        list(
            zip(
                [scope.kind for scope, _ in keys],
                [scope.id for scope, _ in keys],
                [fuel for _, fuel in keys],
                [RESOLUTIONS[n] for n in deltas["resolution"].tolist()],
                deltas["start_ts"].tolist(),
                deltas["expected_kwh"].tolist(),
                deltas["variance_kwh2"].tolist(),
                deltas["sites"].tolist(),
                strict=True,
            )
        ),
    )
    series_queries.delete_empty_expected_rows(session, [summed.keys[n] for n in sorted(set(deltas["scope"]))])


def key_order(key: Key) -> tuple[str, int, str]:
    return key[0].kind, key[0].id, key[1]


def forget_site_predictions(
    session: Session, site_ids: Sequence[int], resolutions: Sequence[str] = RESOLUTIONS
) -> None:
    """Drop the stored predictions of ``site_ids`` at ``resolutions`` (all three: with their provenance row), taking
    them out of every maintained scope sum first, in the caller's transaction (an opt-out of half-hourly data)."""
    ids = [int(s) for s in site_ids]
    if not ids:
        return
    summed = Summed.load(session)
    window = series_queries.load_refresh_window(session)
    if window is not None and any(s in summed.of_site for s in ids):
        old = queries.load_site_rows(session, ids, dict.fromkeys(resolutions, window[0]), window[1])
        apply_deltas(session, scope_deltas(old, old.iloc[:0], window, summed), summed)
    if tuple(resolutions) == RESOLUTIONS:
        queries.delete_site_expected(session, ids)
    else:
        queries.delete_site_predictions(session, ids, resolutions)


def sums_hold(session: Session, scope: Scope, fuel: str, site_ids: Sequence[int], lo_ts: int, hi_ts: int) -> bool:
    """Whether a maintained scope's daily sums still equal its members' stored daily rows over the window.

    The sums are kept current by adding each replaced site's difference at every resolution at once; a change
    that bypassed that (a site deleted, members changed outside the services that adjust the sums, a run that
    stopped between storing sites and adding their differences) shows in the daily sums, and the scope is rebuilt.
    Daily rows only: 1/73 of the rows, so checking every scope costs about a second at 1,000 sites.
    """
    stored = series_queries.load_expected_sums(session, [scope], fuel, "day", lo_ts, hi_ts)
    summed = queries.load_site_expected_sums(session, site_ids, "day", lo_ts, hi_ts)
    return bool(
        len(stored) == len(summed)
        and (stored["start_ts"].to_numpy() == summed["start_ts"].to_numpy()).all()
        and (stored["sites"].to_numpy() == summed["sites"].to_numpy()).all()
        and np.allclose(stored["expected_kwh"], summed["expected_kwh"], rtol=1e-9, atol=1e-6)
        and np.allclose(stored["variance_kwh2"], summed["variance_kwh2"], rtol=1e-9, atol=1e-6)
    )


def change_scope_members(session: Session, scope: Scope, site_ids: Sequence[int], sign: int) -> int:
    """Sites joining (``sign`` 1) or leaving (-1) a scope: its maintained sums gain or lose their stored rows, in
    SQL, in the caller's transaction (a 1,000-site scope is not re-added). Returns the sums (per fuel) changed."""
    fuels = series_queries.load_site_fuels(session, site_ids)
    changed = 0
    predicted = set(queries.load_expected_states(session, list(fuels)))
    for fuel in sorted(set(fuels.values())):
        refresh = load_expected_refreshes(session, [scope], fuel).get(scope)
        if refresh is None:
            continue
        ids = sorted(s for s, f in fuels.items() if f == fuel)
        series_queries.add_site_rows(session, scope, fuel, ids, sign, refresh.lo_ts, refresh.hi_ts)
        refresh.sites += sign * len(ids)
        refresh.sites_modelled += sign * len(predicted & set(ids))
        changed += 1
    return changed


def drop_scope_sums(session: Session, scope: Scope) -> None:
    """A scope that is gone (a deleted group): its maintained sums go with it."""
    for fuel in Fuel:
        series_queries.delete_expected_series(session, scope, fuel.value)
