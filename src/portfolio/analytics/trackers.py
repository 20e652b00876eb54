"""Consumption trackers, the pure part: local calendar periods, progress, projection and crossing.

Periods are local calendar periods in the sites' time zone (Europe/London): a day, a week starting on
Monday, or a calendar month. A period's UTC bounds come from its local midnights, so a week holding a
clock change lasts 167 or 169 hours. Nothing here reads the database or fills a gap with zeros.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from portfolio.timekeeping import UK_TIME_ZONE, local_midnight_ts

PERIODS = ("day", "week", "month")
PERIOD_LABELS = {"day": "Daily", "week": "Weekly (Monday to Sunday)", "month": "Monthly"}
STATES = ("under", "warning", "exceeded")
Z_90 = 1.6448536269514722  # two-sided 90 % band: 5 % below, 5 % above


class TrackerPeriodError(ValueError):
    """An unknown period name."""


@dataclass(frozen=True)
class PeriodBounds:
    """A local calendar period: ``start``..``end`` inclusive local days and its UTC span [start_ts, end_ts)."""

    period: str
    start: dt.date
    end: dt.date
    start_ts: int
    end_ts: int

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def label(self) -> str:
        if self.period == "day":
            return f"{self.start:%a %-d %b %Y}"
        if self.period == "month":
            return f"{self.start:%B %Y}"
        return f"week of {self.start:%a %-d %b} to {self.end:%a %-d %b %Y}"


@dataclass(frozen=True)
class Projection:
    """Consumption expected by the period's end [kWh] and how it was estimated."""

    kwh: float | None
    method: str  # "model", "run-rate", "model + run-rate", "complete" (the period is over) or "none"
    lower_kwh: float | None = None  # 90 % band of the period's total [kWh]
    upper_kwh: float | None = None


@dataclass(frozen=True)
class Crossing:
    """By how much consumption has gone over the requested amount."""

    consumption_kwh: float
    target_kwh: float
    excess_kwh: float
    excess_pct: float


def compute_period_bounds(period: str, day: dt.date, time_zone: str = UK_TIME_ZONE) -> PeriodBounds:
    """The local calendar period of kind ``period`` containing local day ``day``."""
    if period == "day":
        start = end = day
    elif period == "week":
        start = day - dt.timedelta(days=day.weekday())
        end = start + dt.timedelta(days=6)
    elif period == "month":
        start = day.replace(day=1)
        end = (start + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    else:
        raise TrackerPeriodError(f"period must be one of {', '.join(PERIODS)}, not {period!r}")
    return PeriodBounds(
        period,
        start,
        end,
        local_midnight_ts(start, time_zone),
        local_midnight_ts(end + dt.timedelta(days=1), time_zone),
    )


def compute_progress(consumption_kwh: float | None, target_kwh: float | None) -> float | None:
    """Share of the requested amount used so far (1.0 = all of it; may exceed 1), or None when unknown."""
    if consumption_kwh is None or target_kwh is None or target_kwh <= 0:
        return None
    return float(consumption_kwh) / float(target_kwh)


def compute_projection(
    so_far_kwh: pd.Series,
    expected_remaining_kwh: pd.Series,
    days_elapsed: int,
    days_remaining: int,
    remaining_variance_kwh2: pd.Series | None = None,
    daily_variance_kwh2: pd.Series | None = None,
    days_reported: pd.Series | None = None,
) -> Projection:
    """Project each site to the period's end: its model's expected remaining days, else its run-rate.

    ``so_far_kwh``: consumption per site so far [kWh], only for sites that reported (missing sites are absent,
    never zero). ``expected_remaining_kwh``: model expectation per site for the remaining whole days [kWh],
    only for modelled sites whose forecast covers them. A site with neither adds only what it has used.

    The 90 % band adds, as independent errors, ``remaining_variance_kwh2`` (the models' prediction variance of
    each modelled site's remaining days [kWh²]) and, for run-rate sites, ``daily_variance_kwh2`` (the scatter
    of their daily consumption so far [kWh²]) times the days remaining. Without variances the band is the
    projection itself. Consumption so far is taken as known.

    ``days_reported``: per site, the days it has reported so far; a run-rate site is then continued at its
    own daily average over its unreported days (``days_elapsed + days_remaining - days_reported``), so a day
    it missed is estimated, not taken as zero. Without it every site is taken to have reported every day.
    """
    if days_remaining <= 0:
        total = float(so_far_kwh.sum()) if len(so_far_kwh) else None
        return Projection(total, "complete", total, total)
    if so_far_kwh.empty and expected_remaining_kwh.empty:
        return Projection(None, "none")
    modelled = expected_remaining_kwh.index
    run_rate_sites = so_far_kwh.index.difference(modelled)
    total = float(so_far_kwh.sum()) + float(expected_remaining_kwh.sum())
    used_run_rate = days_elapsed > 0 and len(run_rate_sites) > 0
    unreported = pd.Series(float(days_remaining), index=run_rate_sites)
    if used_run_rate:
        reported = (
            days_reported.reindex(run_rate_sites).fillna(days_elapsed).clip(lower=1)
            if days_reported is not None
            else pd.Series(float(days_elapsed), index=run_rate_sites)
        )
        unreported = (days_elapsed + days_remaining - reported).clip(lower=0)
        total += float((so_far_kwh.loc[run_rate_sites] / reported * unreported).sum())
    method = {(True, True): "model + run-rate", (True, False): "model", (False, True): "run-rate"}.get(
        (len(modelled) > 0, used_run_rate), "none"
    )
    variance = 0.0
    if remaining_variance_kwh2 is not None:
        variance += float(remaining_variance_kwh2.reindex(modelled).fillna(0.0).sum())
    if used_run_rate and daily_variance_kwh2 is not None:
        variance += float((daily_variance_kwh2.reindex(run_rate_sites).fillna(0.0) * unreported).sum())
    half_width = Z_90 * math.sqrt(max(variance, 0.0))
    return Projection(total, method, total - half_width, total + half_width)


def compute_state(consumption_kwh: float | None, lower_kwh: float | None, target_kwh: float | None) -> str:
    """ "exceeded" when consumption is above the amount, "warning" when the projection's lower 90 % bound is, else
    "under"."""
    if target_kwh is None:
        return "under"
    if consumption_kwh is not None and consumption_kwh > target_kwh:
        return "exceeded"
    if lower_kwh is not None and lower_kwh > target_kwh:
        return "warning"
    return "under"


def estimate_crossing_day(
    consumption_kwh: float | None, daily_remaining_kwh: pd.Series, target_kwh: float | None
) -> dt.date | None:
    """The first remaining local day by whose end the expected running total passes the amount, or None.

    ``daily_remaining_kwh``: expected consumption of the whole scope per remaining local day [kWh], indexed
    by date.
    """
    if target_kwh is None or daily_remaining_kwh.empty:
        return None
    return first_day_over(compute_running_total(consumption_kwh, daily_remaining_kwh), target_kwh)


def compute_running_total(consumption_kwh: float | None, daily_remaining_kwh: pd.Series) -> pd.Series:
    """Expected running total [kWh] at the end of each remaining local day, from consumption so far.

    Independent of the amount, so trackers of the same sites and period share it (:func:`first_day_over`).
    """
    return (consumption_kwh or 0.0) + daily_remaining_kwh.sort_index().cumsum()


def first_day_over(running_kwh: pd.Series, target_kwh: float | None) -> dt.date | None:
    """The first day whose running total [kWh] is above the amount, or None."""
    if target_kwh is None or running_kwh.empty:
        return None
    over = np.flatnonzero(running_kwh.to_numpy(dtype=float) > target_kwh)
    return None if over.size == 0 else running_kwh.index[int(over[0])]


def detect_crossing(consumption_kwh: float | None, target_kwh: float | None) -> Crossing | None:
    """A crossing when consumption is strictly above the requested amount; None otherwise or when unknown."""
    if consumption_kwh is None or target_kwh is None or not consumption_kwh > target_kwh:
        return None
    excess = float(consumption_kwh) - float(target_kwh)
    return Crossing(
        float(consumption_kwh),
        float(target_kwh),
        excess,
        100.0 * excess / target_kwh if target_kwh > 0 else float("inf"),
    )
