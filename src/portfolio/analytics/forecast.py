"""Expected consumption: temperature-and-time-of-week regression, fitted in batch, stored, predicted cheaply.

This module fits (:class:`TemperatureModel`: design, sufficiency, calibration; the search and the final solve
are in ``forecast_fit``); the result, a :class:`~portfolio.analytics.fitted_model.FittedTemperatureModel`,
lives in ``fitted_model``.

The approach is CalTRACK's (OpenEEmeter's daily and hourly methods): energy is regressed on heating
degrees max(0, bp_h - T) and cooling degrees max(0, T - bp_c) with balance points found by grid
search, plus a fixed effect per local time-of-week bin. Candidates are intercept only, heating only,
cooling only and heating + cooling; a slope must be positive and significant (p < 0.1) to stay, and
the candidate with the lowest BIC wins (CalTRACK uses adjusted R², available as an option; with a
grid of balance points it lets chance terms in).

- Daily model (daily readings, or ``resolution="daily"``): one bin per local day of week (holidays
  count as Sunday), degrees from the local day's mean temperature.
- Interval model (hourly or half-hourly readings): one bin per local interval of the week (168 hourly,
  336 half-hourly; half-hourly data are fitted directly, not summed to hours), and heating/cooling
  slopes split by occupancy (a bin is "occupied" when a temperature-only fit under-predicts it more
  than 65 % of the time, as CalTRACK hourly does).

The bins are absorbed by demeaning within bins (Frisch-Waugh-Lovell), so the balance-point search is a
few small solves on one Gram matrix and the stored model is small: per-bin intercepts, counts and term
means plus the k x k (Z'Z)^-1 of the slope terms. That is all the OLS prediction variance
s²(1 + x0'(X'X)^-1 x0) needs, so intervals widen with leverage (e.g. temperatures outside the training
range) without keeping the training data. Missing intervals (absent or NaN) are dropped, never zeros.

Sufficiency minima (CalTRACK asks for 12 months of baseline; less is allowed here so new sites get a
model, at the cost of less certain seasonal slopes that show as wider intervals): daily model 60 days
of complete local days with every day of the week seen 4 times; interval model 28 days' worth of
intervals with every interval-of-week bin seen 3 times.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from portfolio.analytics.degree_days import (
    compute_cooling_degrees,
    compute_daily_mean_temperature,
    compute_heating_degrees,
    compute_interval_seconds,
    compute_interval_temperature,
    compute_local_daily_totals,
    compute_local_day_of_week,
    compute_local_day_start,
    compute_local_time_of_week,
)
from portfolio.analytics.fitted_model import (
    Calibration,
    DataSufficiency,
    FittedTemperatureModel,
    compute_season_temperature,
    normal_quantile,
)
from portfolio.analytics.forecast_fit import Design, fit_design
from portfolio.timekeeping import SECONDS_PER_DAY, UK_TIME_ZONE

__all__ = ["DataSufficiencyError", "FittedTemperatureModel", "TemperatureModel", "normal_quantile"]

MIN_DAYS_DAILY = 60
MIN_DAYS_INTERVAL = 28
MIN_OBSERVATIONS_PER_DAY_OF_WEEK = 4
MIN_OBSERVATIONS_PER_TIME_OF_WEEK = 3
OCCUPANCY_THRESHOLD = 0.65
DEFAULT_BALANCE_POINTS_C = tuple(5.0 + 0.5 * step for step in range(41))  # 5 .. 25 °C
DEFAULT_HEATING_SEASON_GATES_C = (10.0, 12.0, 14.0, 16.0)
CALIBRATION_LEVEL = 0.9
MIN_CALIBRATION_POINTS = 7


class DataSufficiencyError(ValueError):
    """The readings cannot support a model: too few days, or time-of-week bins not covered."""

    def __init__(self, message: str, *, needed_days: int, available_days: float) -> None:
        super().__init__(message)
        self.needed_days = needed_days
        self.available_days = available_days


def _as_local_days(readings_kwh: pd.Series, time_zone: str) -> pd.Series:
    if len(readings_kwh) < 2:
        return readings_kwh
    seconds = compute_interval_seconds(pd.DatetimeIndex(readings_kwh.index))
    return compute_local_daily_totals(readings_kwh, time_zone, seconds) if seconds < SECONDS_PER_DAY else readings_kwh


def _interval_scale(actual: pd.Series, prediction: pd.DataFrame, z: float) -> float:
    """Factor (>= 1) on the standard errors that makes the held-out ``z`` intervals cover as they should."""
    frame = pd.concat([actual.rename("actual"), prediction[["expected_kwh", "standard_error_kwh"]]], axis=1).dropna()
    frame = frame[frame["standard_error_kwh"] > 0]
    if len(frame) < MIN_CALIBRATION_POINTS:
        return 1.0
    standardized = (frame["actual"] - frame["expected_kwh"]).abs() / frame["standard_error_kwh"]
    return float(max(1.0, np.quantile(standardized, CALIBRATION_LEVEL) / z))


@dataclass(frozen=True)
class TemperatureModel:
    """Settings of the consumption model; :meth:`fit` returns a :class:`FittedTemperatureModel`.

    Parameters
    ----------
    resolution : "auto" fits at the readings' own interval; "daily" sums sub-daily readings to complete
        local days first.
    time_zone : local time zone of the site, for time of week and local days.
    balance_points_c : candidate balance points [°C] for both heating and cooling (bp_h <= bp_c).
    significance : p-value a slope must beat to stay in the model (CalTRACK: 0.1).
    holidays : local dates treated as Sundays.
    occupancy_split : interval model only: separate slopes for occupied and unoccupied bins.
    temperature_window_hours : interval model only: trailing mean temperature window [h] (1 = none).
    selection : how candidates compete: "bic" (default; counts a slope and its balance point as two
        parameters, so a spurious term found by searching 41 balance points rarely wins) or CalTRACK's
        "adjusted_r_squared".
    heating_season_gates_c : candidate heating-season gates [°C]: heating degrees count only while the
        trailing 7-day mean temperature is below the gate. "No gate" is always a candidate, and a gate
        counts as one more parameter in the selection. () turns gating off.
    calibration_holdout : share of the observed intervals (the latest) held out to calibrate the
        prediction intervals and score the model out of sample (0: no calibration).
    """

    resolution: Literal["auto", "daily"] = "auto"
    time_zone: str = UK_TIME_ZONE
    balance_points_c: tuple[float, ...] = DEFAULT_BALANCE_POINTS_C
    significance: float = 0.1
    holidays: tuple[dt.date, ...] = ()
    occupancy_split: bool = True
    temperature_window_hours: int = 1
    selection: Literal["bic", "adjusted_r_squared"] = "bic"
    heating_season_gates_c: tuple[float, ...] = DEFAULT_HEATING_SEASON_GATES_C
    calibration_holdout: float = 0.25

    def _design(self, readings_kwh: pd.Series, temperature_c: pd.Series) -> Design:
        readings_kwh = readings_kwh.dropna()
        if len(readings_kwh) < 2:
            return Design(
                pd.DatetimeIndex([], tz="UTC"),
                np.array([]),
                np.array([]),
                np.array([]),
                np.array([], dtype=np.int64),
                7,
                "daily" if self.resolution == "daily" else "interval",
                SECONDS_PER_DAY,
            )
        readings_kwh = readings_kwh.set_axis(pd.DatetimeIndex(readings_kwh.index).tz_convert("UTC")).sort_index()
        interval_seconds = compute_interval_seconds(pd.DatetimeIndex(readings_kwh.index))
        if self.resolution == "daily" or interval_seconds == SECONDS_PER_DAY:
            if interval_seconds != SECONDS_PER_DAY:
                readings_kwh = compute_local_daily_totals(readings_kwh, self.time_zone, interval_seconds)
            else:
                readings_kwh = readings_kwh.groupby(
                    compute_local_day_start(pd.DatetimeIndex(readings_kwh.index), self.time_zone)
                ).sum()
            temperature = compute_daily_mean_temperature(temperature_c, self.time_zone).reindex(readings_kwh.index)
            bins = compute_local_day_of_week(pd.DatetimeIndex(readings_kwh.index), self.time_zone, self.holidays)
            resolution: Literal["daily", "interval"] = "daily"
            n_bins, interval_seconds = 7, SECONDS_PER_DAY
        else:
            temperature = compute_interval_temperature(
                temperature_c, pd.DatetimeIndex(readings_kwh.index), self.temperature_window_hours
            )
            bins = compute_local_time_of_week(
                pd.DatetimeIndex(readings_kwh.index), self.time_zone, interval_seconds, self.holidays
            )
            resolution = "interval"
            n_bins = 7 * SECONDS_PER_DAY // interval_seconds
        keep = temperature.notna().to_numpy()
        season = compute_season_temperature(
            temperature_c, pd.DatetimeIndex(readings_kwh.index), resolution, temperature.to_numpy(dtype=float)
        )
        return Design(
            pd.DatetimeIndex(readings_kwh.index)[keep],
            readings_kwh.to_numpy(dtype=float)[keep],
            temperature.to_numpy(dtype=float)[keep],
            season[keep],
            bins[keep],
            n_bins,
            resolution,
            interval_seconds,
        )

    def _sufficiency(self, design: Design) -> DataSufficiency:
        daily = design.resolution == "daily"
        needed_days = MIN_DAYS_DAILY if daily else MIN_DAYS_INTERVAL
        needed_bin = MIN_OBSERVATIONS_PER_DAY_OF_WEEK if daily else MIN_OBSERVATIONS_PER_TIME_OF_WEEK
        available_days = round(len(design.energy_kwh) * design.interval_seconds / SECONDS_PER_DAY, 2)
        counts = np.bincount(design.bins, minlength=design.n_bins)
        reasons = []
        if available_days < needed_days:
            reasons.append(f"needs at least {needed_days} days of data with temperatures, has {available_days:g}")
        if counts.min() < needed_bin:
            bin_name = "day of the week" if daily else "interval of the week"
            reasons.append(
                f"needs every {bin_name} seen at least {needed_bin} times, "
                f"{int((counts < needed_bin).sum())} of {design.n_bins} are not"
            )
        return DataSufficiency(
            design.resolution,
            design.interval_seconds,
            available_days,
            needed_days,
            int(counts.min()),
            needed_bin,
            tuple(reasons),
        )

    def compute_sufficiency(self, readings_kwh: pd.Series, temperature_c: pd.Series) -> DataSufficiency:
        """Report whether ``readings_kwh`` [kWh per interval] and hourly ``temperature_c`` [°C] support a fit."""
        return self._sufficiency(self._design(readings_kwh, temperature_c))

    def fit(self, readings_kwh: pd.Series, temperature_c: pd.Series) -> FittedTemperatureModel:
        """Fit to energy per interval [kWh] (UTC index; gaps absent or NaN) and hourly air temperature [°C].

        Raises
        ------
        DataSufficiencyError
            When the data fall short of the minima (message "needs at least N days of data ...").
        """
        # one BLAS thread: the solves are many and small, and threaded BLAS made fits up to 7x slower
        with threadpool_limits(limits=1, user_api="blas"):
            design = self._design(readings_kwh, temperature_c)
            sufficiency = self._sufficiency(design)
            if not sufficiency.is_sufficient:
                raise DataSufficiencyError(
                    "; ".join(sufficiency.reasons),
                    needed_days=sufficiency.needed_days,
                    available_days=sufficiency.available_days,
                )
            occupied = self._occupancy(design)
            fitted = fit_design(self, design, occupied, sufficiency)
            if self.calibration_holdout <= 0:
                return fitted
            return dataclasses.replace(fitted, calibration=self._calibrate(readings_kwh, temperature_c))

    def _calibrate(self, readings_kwh: pd.Series, temperature_c: pd.Series) -> Calibration:
        """Hold the last part out, fit the rest, and measure how far the held-out errors exceed the intervals.

        In-sample residuals understate the error of a forecast: the building drifts, the occupancy
        changes. The factor that makes the held-out 90 % intervals cover 90 % of the held-out points (at
        least 1: intervals are widened, never narrowed) is applied to every later prediction. Too little
        data for the inner fit leaves the intervals as they are (calibrated False).
        """
        readings = readings_kwh.dropna().sort_index()
        split_at = readings.index[int(len(readings) * (1 - self.calibration_holdout))]
        inner = dataclasses.replace(self, calibration_holdout=0.0)
        try:
            model = inner.fit(readings[readings.index < split_at], temperature_c)
        except DataSufficiencyError:
            return Calibration()
        held_out = readings[readings.index >= split_at]
        z = normal_quantile(CALIBRATION_LEVEL)
        if model.resolution == "daily":
            held_out = _as_local_days(held_out, model.time_zone)
        prediction = model.predict(temperature_c, held_out.index, level=CALIBRATION_LEVEL)
        interval_scale = _interval_scale(held_out, prediction, z)
        daily_scale = interval_scale
        if model.resolution != "daily":
            days = compute_local_daily_totals(held_out, model.time_zone, model.interval_seconds)
            summed = model.predict(temperature_c, held_out.index, level=CALIBRATION_LEVEL, per_local_day=True)
            daily_scale = _interval_scale(days, summed.reindex(days.index), z)
        scored = pd.concat([held_out.rename("actual"), prediction["expected_kwh"]], axis=1).dropna()
        if len(scored) < 2 or scored["actual"].mean() == 0:
            return Calibration()
        error = scored["actual"] - scored["expected_kwh"]
        mean = float(scored["actual"].mean())
        return Calibration(
            calibrated=True,
            interval_scale=interval_scale,
            daily_scale=daily_scale,
            holdout_points=len(scored),
            holdout_cvrmse_pct=float(100 * np.sqrt((error**2).mean()) / mean),
            holdout_nmbe_pct=float(100 * error.mean() / mean),
        )

    def _occupancy(self, design: Design) -> np.ndarray:
        """Occupied bins: a fixed-balance-point temperature fit under-predicts them > 65 % of the time."""
        if design.resolution == "daily" or not self.occupancy_split:
            return np.zeros(design.n_bins, dtype=bool)
        t = design.temperature_c
        exog = np.column_stack([np.ones_like(t), compute_heating_degrees(t, 10.0), compute_cooling_degrees(t, 18.0)])
        beta = np.linalg.solve(exog.T @ exog + 1e-9 * np.eye(3), exog.T @ design.energy_kwh)
        positive = (design.energy_kwh - exog @ beta) > 0
        counts = np.bincount(design.bins, minlength=design.n_bins)
        share = np.bincount(design.bins, weights=positive, minlength=design.n_bins) / np.maximum(counts, 1)
        return share > OCCUPANCY_THRESHOLD
