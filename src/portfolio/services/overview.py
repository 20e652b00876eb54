"""The overview after sign-in: one card per portfolio group (and per client organisation for brokers).

Each card says how yesterday and this week went against what the temperature models expect, which sites
did not report yesterday (coverage decides: a site with 1 of 48 half hours is not reporting), which
trackers are near or over their amount, and when data last arrived. Everything is read from the daily
roll-up and stored model fits: no model is fitted in the request.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import cast
from urllib.parse import urlencode

import pandas as pd
from sqlalchemy.orm import Session

from portfolio.access import Viewer
from portfolio.analytics.coverage import compute_day_lengths_seconds
from portfolio.queries.overview import load_site_organisations, load_week_usage
from portfolio.queries.trackers import load_user_trackers
from portfolio.queries.usage import load_list_sites
from portfolio.services.graphs import load_site_expected
from portfolio.services.groups import ALL_SITES, group_options, group_site_ids
from portfolio.services.trackers import compute_status
from portfolio.timekeeping import UK_TIME_ZONE, local_midnight_ts

NEAR_TRACKER = 0.9
"""A tracker at this share of its amount or more is 'near' and shown on the overview."""
MAX_ORGANISATION_CARDS = 12


@dataclass(frozen=True)
class FuelFigures:
    """One fuel of a card [kWh]; None where nothing can be said (never a zero for missing data)."""

    fuel: str
    sites: int
    yesterday_kwh: float | None
    yesterday_expected_kwh: float | None
    week_kwh: float | None
    week_expected_kwh: float | None
    sites_reporting: int  # all intervals of yesterday present
    yesterday_compared_kwh: float | None = None  # metered over the site-days compared with expected
    week_compared_kwh: float | None = None
    missing: tuple[str, ...] = ()  # no or partial data yesterday
    expected_note: str = ""


@dataclass(frozen=True)
class TrackerLine:
    name: str
    progress: float | None
    exceeded: bool
    text: str


@dataclass(frozen=True)
class OverviewCard:
    title: str
    subtitle: str
    group: str  # the group value for links ("all" or a group id)
    sites: int
    fuels: tuple[FuelFigures, ...]
    last_data: pd.Timestamp | None
    trackers: tuple[TrackerLine, ...] = field(default_factory=tuple)
    graph_link: str = ""
    missing_link: str = ""


def _link(path: str, group: str, first: dt.date, last: dt.date, fuel: str) -> str:
    return f"{path}?{urlencode({'group': group, 'from': first.isoformat(), 'to': last.isoformat(), 'fuel': fuel})}"


def _fuel_figures(sites: pd.DataFrame, usage: pd.DataFrame, expected: pd.DataFrame, yesterday: dt.date) -> FuelFigures:
    fuel = str(sites["fuel"].iloc[0])
    ids = [int(s) for s in sites["site_id"]]
    own = usage[usage["site_id"].isin(ids)]
    day = own[own["local_date"] == yesterday]
    expected_per_site = {}
    for row in sites.to_dict("records"):
        seconds = int(row["interval_seconds"]) if pd.notna(row["interval_seconds"]) else 1800
        expected_per_site[int(row["site_id"])] = int(
            compute_day_lengths_seconds(yesterday, yesterday, str(row["time_zone"])).iloc[0] // seconds
        )
    got = dict(zip(day["site_id"], day["intervals"], strict=True))
    complete = [s for s in ids if got.get(s, 0) >= expected_per_site[s]]
    names = dict(zip(sites["site_id"].astype(int), sites["name"], strict=True))
    missing = tuple(sorted(names[s] for s in ids if s not in complete))
    week_metered, week_expected, week_sites = _like_for_like(sites, own, expected)
    day_metered, day_expected, _ = _like_for_like(sites, day, expected)
    day_total = day["energy_kwh"].sum(min_count=1)
    week_total = own["energy_kwh"].sum(min_count=1)
    return FuelFigures(
        fuel=fuel,
        sites=len(ids),
        yesterday_kwh=None if pd.isna(day_total) else float(day_total),
        yesterday_expected_kwh=day_expected,
        yesterday_compared_kwh=day_metered,
        week_kwh=None if pd.isna(week_total) else float(week_total),
        week_expected_kwh=week_expected,
        week_compared_kwh=week_metered,
        sites_reporting=len(complete),
        missing=missing,
        expected_note=f"compared over the site-days fully reported by sites with a model ({week_sites} sites)",
    )


def load_expected_days(session: Session, sites: pd.DataFrame, first: dt.date, last: dt.date) -> pd.DataFrame:
    """Expected energy per site and local day first..last from stored fits, once for every card.

    Returns site_id, local_date, expected_kwh, predicted (intervals predicted that day: a day is compared
    only when every interval was predicted).
    """
    columns = ["site_id", "local_date", "expected_kwh", "predicted"]
    if sites.empty:
        return pd.DataFrame(columns=columns)
    lo = local_midnight_ts(first, UK_TIME_ZONE)
    hi = local_midnight_ts(last + dt.timedelta(days=1), UK_TIME_ZONE)
    predictions = load_site_expected(session, [int(s) for s in sites["site_id"]], lo, hi)
    if predictions.empty:
        return pd.DataFrame(columns=columns)
    zones = dict(zip(sites["site_id"].astype(int), sites["time_zone"], strict=True))
    frames = []
    for site_id, frame in predictions.groupby("site_id"):
        local = (
            pd.to_datetime(frame["start_ts"], unit="s", utc=True).dt.tz_convert(zones[int(cast(int, site_id))]).dt.date
        )
        sums = frame.groupby(local.to_numpy())["expected_kwh"].agg(["sum", "size"])
        frames.append(
            pd.DataFrame(
                {
                    "site_id": int(cast(int, site_id)),
                    "local_date": sums.index,
                    "expected_kwh": sums["sum"].to_numpy(),
                    "predicted": sums["size"].to_numpy(),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def _like_for_like(
    sites: pd.DataFrame, usage: pd.DataFrame, expected: pd.DataFrame
) -> tuple[float | None, float | None, int]:
    """Metered and expected [kWh] over the same site-days: those fully reported by a site with a model.

    A missing site is never compared against its own expected consumption (that would read as a saving).
    """
    if expected.empty or usage.empty:
        return None, None, 0
    zones = dict(zip(sites["site_id"].astype(int), sites["time_zone"], strict=True))
    seconds = dict(zip(sites["site_id"].astype(int), sites["interval_seconds"].fillna(1800), strict=True))
    merged = usage.merge(expected, on=["site_id", "local_date"], how="inner")
    merged = merged[merged["site_id"].isin(list(zones))]
    full = []
    for row in merged.to_dict("records"):
        site_id, day = int(row["site_id"]), row["local_date"]
        length = int(compute_day_lengths_seconds(day, day, zones[site_id]).iloc[0])
        wanted = length // int(seconds[site_id])
        full.append(row["intervals"] >= wanted and row["predicted"] >= wanted)
    compared = merged[full]
    if compared.empty:
        return None, None, 0
    return (
        float(compared["energy_kwh"].sum()),
        float(compared["expected_kwh"].sum()),
        int(compared["site_id"].nunique()),
    )


def _card(
    title: str,
    subtitle: str,
    group: str,
    site_ids: Sequence[int],
    week: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame],
    yesterday: dt.date,
) -> OverviewCard:
    all_sites, all_usage, expected = week
    sites = all_sites[all_sites["site_id"].isin([int(s) for s in site_ids])]
    usage = all_usage[all_usage["site_id"].isin(sites["site_id"])]
    fuels = tuple(_fuel_figures(members, usage, expected, yesterday) for _, members in sites.groupby("fuel", sort=True))
    last = sites["last_reading"].max() if len(sites) else None
    fuel = fuels[0].fuel if fuels else "power"
    return OverviewCard(
        title=title,
        subtitle=subtitle,
        group=group,
        sites=len(sites),
        fuels=fuels,
        last_data=None if last is None or pd.isna(last) else last,
        graph_link=_link("/graphs", group, yesterday - dt.timedelta(days=29), yesterday, fuel),
        missing_link=_link("/portfolio", group, yesterday, yesterday, fuel),
    )


def _trackers(session: Session, viewer: Viewer, yesterday: dt.date) -> dict[str, list[TrackerLine]]:
    """The viewer's trackers near or over their amount, keyed by the card they belong to."""
    by_card: dict[str, list[TrackerLine]] = {}
    for tracker in load_user_trackers(session, viewer.user_id):
        try:
            status = compute_status(session, tracker, viewer, yesterday)
        except Exception:  # a tracker whose scope is gone or refused: the trackers page explains it
            continue
        if status.error or not (status.exceeded or (status.progress or 0) >= NEAR_TRACKER):
            continue
        share = f"{status.progress:.0%} of its amount" if status.progress is not None else "over its amount"
        line = TrackerLine(status.name, status.progress, status.exceeded, f"{share} · {status.period_label}")
        key = str(tracker.scope_id) if tracker.scope_kind == "group" else ALL_SITES
        by_card.setdefault(key, []).append(line)
    return by_card


def make_overview(session: Session, viewer: Viewer, today: dt.date) -> list[OverviewCard]:
    """The viewer's cards: their groups ("All sites" first), then one per client organisation for brokers."""
    yesterday = today - dt.timedelta(days=1)
    week_start = yesterday - dt.timedelta(days=yesterday.weekday())
    trackers = _trackers(session, viewer, yesterday)
    visible = group_site_ids(session, viewer, ALL_SITES)
    sites = load_list_sites(session, visible)  # one look per site, shared by every card
    week = (
        sites,
        load_week_usage(session, visible, week_start, yesterday),
        load_expected_days(session, sites, week_start, yesterday),
    )
    cards = []
    for value, label, _ in group_options(session, viewer):
        site_ids = group_site_ids(session, viewer, value)
        card = _card(label, "Portfolio group", value, site_ids, week, yesterday)
        cards.append(replace(card, trackers=tuple(trackers.get(value, []))))
    organisations = load_site_organisations(session, visible)
    if organisations["organisation_id"].nunique() > 1:
        for (_, name), members in list(organisations.groupby(["organisation_id", "organisation"]))[
            :MAX_ORGANISATION_CARDS
        ]:
            site_ids = members["site_id"].tolist()
            cards.append(_card(str(name), "Client organisation", ALL_SITES, site_ids, week, yesterday))
    return cards
