"""Expected consumption: temperature-and-time-of-week regression, fitted in batch, stored, predicted cheaply.

This module fits (:class:`TemperatureModel`: design, sufficiency, search, calibration); the result, a
:class:`~portfolio.analytics.fitted_model.FittedTemperatureModel`, lives in ``fitted_model``.

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
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
import statsmodels.api as sm
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
    FitStatistics,
    FittedTemperatureModel,
    compute_season_temperature,
    compute_term_columns,
    normal_quantile,
)
from portfolio.timekeeping import SECONDS_PER_DAY, UK_TIME_ZONE

__all__ = ["DataSufficiencyError", "FittedTemperatureModel", "TemperatureModel", "normal_quantile"]

MIN_DAYS_DAILY = 60
MIN_DAYS_INTERVAL = 28
MIN_OBSERVATIONS_PER_DAY_OF_WEEK = 4
MIN_OBSERVATIONS_PER_TIME_OF_WEEK = 3
OCCUPANCY_THRESHOLD = 0.65
DEFAULT_BALANCE_POINTS_C = tuple(5.0 + 0.5 * step for step in range(41))  # 5 .. 25 °C
DEFAULT_HEATING_SEASON_GATES_C = (10.0, 12.0, 14.0, 16.0)
GATE_BALANCE_POINT_SEARCH_C = 2.0
CALIBRATION_LEVEL = 0.9
MIN_CALIBRATION_POINTS = 7


class DataSufficiencyError(ValueError):
    """The readings cannot support a model: too few days, or time-of-week bins not covered."""

    def __init__(self, message: str, *, needed_days: int, available_days: float) -> None:
        super().__init__(message)
        self.needed_days = needed_days
        self.available_days = available_days


@dataclass(frozen=True)
class _Design:
    index: pd.DatetimeIndex
    energy_kwh: np.ndarray
    temperature_c: np.ndarray
    season_temperature_c: np.ndarray
    bins: np.ndarray
    n_bins: int
    resolution: Literal["daily", "interval"]
    interval_seconds: int


def _bin_means(values: np.ndarray, bins: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Mean of each column of ``values`` within each bin (bins x columns); empty bins get 0."""
    values = values.reshape(len(bins), -1)
    sums = np.stack([np.bincount(bins, weights=column, minlength=len(counts)) for column in values.T], axis=1)
    return sums / np.maximum(counts, 1)[:, None]


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

    def _design(self, readings_kwh: pd.Series, temperature_c: pd.Series) -> _Design:
        readings_kwh = readings_kwh.dropna()
        if len(readings_kwh) < 2:
            return _Design(
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
        return _Design(
            pd.DatetimeIndex(readings_kwh.index)[keep],
            readings_kwh.to_numpy(dtype=float)[keep],
            temperature.to_numpy(dtype=float)[keep],
            season[keep],
            bins[keep],
            n_bins,
            resolution,
            interval_seconds,
        )

    def _sufficiency(self, design: _Design) -> DataSufficiency:
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
            fitted = _fit_design(self, design, occupied, sufficiency)
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

    def _occupancy(self, design: _Design) -> np.ndarray:
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


def _fit_design(
    settings: TemperatureModel, design: _Design, occupied: np.ndarray, sufficiency: DataSufficiency
) -> FittedTemperatureModel:
    y, t, season, bins = design.energy_kwh, design.temperature_c, design.season_temperature_c, design.bins
    n, n_bins = len(y), design.n_bins
    counts = np.bincount(bins, minlength=n_bins).astype(float)
    groups = occupied[bins]
    group_names = ("occupied", "unoccupied") if occupied.any() and not occupied.all() else ("all",)
    terms_all = [f"{kind}_{group}" for kind in ("heating", "cooling") for group in group_names]
    grid = np.asarray(settings.balance_points_c, dtype=float)
    # one demeaned column per (term, balance point): the bins' fixed effects absorbed (Frisch-Waugh-Lovell)
    raw = np.column_stack(
        [compute_term_columns(t, season, groups, (term,), bp, bp, None)[:, 0] for term in terms_all for bp in grid]
    )
    # Fortran order: OpenBLAS's threaded syrk on the C-ordered transpose can be 50x slower
    demeaned = np.asfortranarray(raw - _bin_means(raw, bins, counts)[bins])
    y_demeaned = y - _bin_means(y, bins, counts)[bins, 0]
    gram = demeaned.T @ demeaned
    cross = demeaned.T @ y_demeaned
    rss_bins = float(y_demeaned @ y_demeaned)
    tss = float(((y - y.mean()) ** 2).sum())
    usable = np.diag(gram) > 1e-9 * max(1.0, float(np.diag(gram).max()))
    critical_t = normal_quantile(1 - settings.significance)

    def score(rss: np.ndarray | float, k: int, searched: int) -> np.ndarray | float:
        """Higher is better: adjusted R², or minus BIC (``searched``: balance points and gates found by search)."""
        if settings.selection == "bic":
            return -(n * np.log(np.maximum(rss, 1e-300) / n) + (n_bins + k + searched) * np.log(n))
        return 1 - (rss / (n - n_bins - k)) / (tss / (n - 1))

    def valid(beta: np.ndarray, rss: np.ndarray, inverse: np.ndarray) -> np.ndarray:
        """Every slope positive and significant (CalTRACK's rule)."""
        se = np.sqrt(
            np.maximum(rss / (n - n_bins - beta.shape[-1]), 0)[:, None] * np.diagonal(inverse, axis1=1, axis2=2)
        )
        return ((beta > 0) & (beta > critical_t * se)).all(axis=1)

    best: tuple[float, tuple[str, ...], float | None, float | None] = (float(score(rss_bins, 0, 0)), (), None, None)
    for size in range(1, len(terms_all) + 1):
        for terms in itertools.combinations(terms_all, size):
            has_heating = any(term.startswith("heating") for term in terms)
            has_cooling = any(term.startswith("cooling") for term in terms)
            if has_heating and has_cooling:
                heat, cool = np.nonzero(grid[:, None] <= grid[None, :])
            else:
                heat = cool = np.arange(len(grid))
            index = np.column_stack(
                [terms_all.index(term) * len(grid) + (heat if term.startswith("heating") else cool) for term in terms]
            )
            index = index[usable[index].all(axis=1)]
            if not len(index):
                continue
            sub_gram = gram[index[:, :, None], index[:, None, :]]
            sub_gram = sub_gram + np.eye(size) * 1e-10 * np.trace(sub_gram, axis1=1, axis2=2)[:, None, None]
            inverse = np.linalg.inv(sub_gram)
            beta = np.einsum("pij,pj->pi", inverse, cross[index])
            rss = rss_bins - np.einsum("pi,pi->p", beta, cross[index])
            ok = valid(beta, rss, inverse)
            if not ok.any():
                continue
            adjusted = np.asarray(score(rss, size, size), dtype=float)  # a balance point per slope
            adjusted[~ok] = -np.inf
            pick = int(np.argmax(adjusted))
            if adjusted[pick] > best[0]:
                columns = index[pick]
                heating = [
                    grid[col % len(grid)]
                    for col, term in zip(columns, terms, strict=False)
                    if term.startswith("heating")
                ]
                cooling = [
                    grid[col % len(grid)]
                    for col, term in zip(columns, terms, strict=False)
                    if term.startswith("cooling")
                ]
                best = (
                    float(adjusted[pick]),
                    terms,
                    float(heating[0]) if heating else None,
                    float(cooling[0]) if cooling else None,
                )
    best_score, terms, heating_c, cooling_c = best
    gate_c = None
    if heating_c is not None and settings.heating_season_gates_c:
        heating_c, gate_c = _search_gate(
            settings, design, groups, counts, y_demeaned, terms, heating_c, cooling_c, best_score, score, valid
        )
    return _final_fit(settings, design, occupied, sufficiency, terms, heating_c, cooling_c, gate_c, tss)


def _search_gate(
    settings: TemperatureModel,
    design: _Design,
    groups: np.ndarray,
    counts: np.ndarray,
    y_demeaned: np.ndarray,
    terms: tuple[str, ...],
    heating_c: float,
    cooling_c: float | None,
    best_score: float,
    score: Callable[[np.ndarray, int, int], np.ndarray | float],
    valid: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray],
) -> tuple[float, float | None]:
    """Second stage: a heating-season gate for the chosen terms, the heating balance point free to move nearby."""
    t, season, bins = design.temperature_c, design.season_temperature_c, design.bins
    grid = np.asarray(settings.balance_points_c, dtype=float)
    candidates = [
        (bp, gate)
        for bp in grid[np.abs(grid - heating_c) <= GATE_BALANCE_POINT_SEARCH_C]
        for gate in settings.heating_season_gates_c
        if cooling_c is None or bp <= cooling_c
    ]
    if not candidates:
        return heating_c, None
    stacked = np.stack([compute_term_columns(t, season, groups, terms, bp, cooling_c, gate) for bp, gate in candidates])
    stacked = stacked - np.stack([_bin_means(columns, bins, counts)[bins] for columns in stacked])
    sub_gram = np.einsum("pni,pnj->pij", stacked, stacked)
    diagonal = np.diagonal(sub_gram, axis1=1, axis2=2)
    usable = np.asarray(
        (diagonal > 1e-9 * max(1.0, float(diagonal.max()))).all(axis=1)
    )  # a gate never open gives no column
    if not usable.any():
        return heating_c, None
    candidates = [candidate for candidate, ok in zip(candidates, usable, strict=False) if ok]
    stacked, diagonal = stacked[usable], diagonal[usable]
    sub_gram = sub_gram[usable] + np.eye(len(terms)) * 1e-10 * diagonal.sum(axis=1)[:, None, None]
    inverse = np.linalg.inv(sub_gram)
    beta = np.einsum("pij,pj->pi", inverse, np.einsum("pni,n->pi", stacked, y_demeaned))
    rss = ((y_demeaned[None, :] - np.einsum("pni,pi->pn", stacked, beta)) ** 2).sum(axis=1)
    adjusted = np.asarray(score(rss, len(terms), len(terms) + 1), dtype=float)
    adjusted[~valid(beta, rss, inverse)] = -np.inf
    pick = int(np.argmax(adjusted))
    if adjusted[pick] <= best_score:
        return heating_c, None
    return float(candidates[pick][0]), float(candidates[pick][1])


def _final_fit(
    settings: TemperatureModel,
    design: _Design,
    occupied: np.ndarray,
    sufficiency: DataSufficiency,
    terms: tuple[str, ...],
    heating_c: float | None,
    cooling_c: float | None,
    gate_c: float | None,
    tss: float,
) -> FittedTemperatureModel:
    y, t, bins = design.energy_kwh, design.temperature_c, design.bins
    n, n_bins, k = len(y), design.n_bins, len(terms)
    counts = np.bincount(bins, minlength=n_bins).astype(float)
    columns = compute_term_columns(t, design.season_temperature_c, occupied[bins], terms, heating_c, cooling_c, gate_c)
    column_means = _bin_means(columns, bins, counts) if k else np.zeros((n_bins, 0))
    y_means = _bin_means(y, bins, counts)[:, 0]
    dof = n - n_bins - k
    if k:
        model = sm.OLS(y - y_means[bins], columns - column_means[bins])
        model.df_resid, model.df_model = float(dof), float(n_bins + k - 1)  # the absorbed bin effects count
        result = model.fit()
        slopes, unscaled = np.asarray(result.params), np.asarray(result.normalized_cov_params)
        p_values = np.asarray(result.pvalues)
    else:
        slopes, unscaled, p_values = np.zeros(0), np.zeros((0, 0)), np.zeros(0)
    intercepts = y_means - column_means @ slopes
    residuals = y - intercepts[bins] - columns @ slopes
    rss = float(residuals @ residuals)
    variance = rss / dof
    mean = float(y.mean())
    statistics = FitStatistics(
        n=n,
        n_parameters=n_bins + k,
        r_squared=1 - rss / tss if tss > 0 else float("nan"),
        adjusted_r_squared=1 - (rss / dof) / (tss / (n - 1)) if tss > 0 else float("nan"),
        cvrmse_pct=float(100 * np.sqrt(variance) / mean),
        nmbe_pct=100 * float(residuals.sum()) / (dof * mean),
        residual_sd_kwh=float(np.sqrt(variance)),
        mean_kwh=mean,
    )
    return FittedTemperatureModel(
        resolution=design.resolution,
        interval_seconds=design.interval_seconds,
        time_zone=settings.time_zone,
        holidays=tuple(settings.holidays),
        temperature_window_hours=settings.temperature_window_hours,
        terms=tuple(terms),
        heating_balance_point_c=heating_c,
        cooling_balance_point_c=cooling_c,
        heating_season_gate_c=gate_c,
        slopes_kwh_per_k=slopes,
        slope_p_values=p_values,
        unscaled_covariance=unscaled,
        bin_intercepts_kwh=intercepts,
        bin_counts=counts,
        bin_term_means=column_means,
        bin_occupied=occupied,
        residual_variance_kwh2=variance,
        daily_sum_variance_inflation=_daily_sum_inflation(design, residuals, variance, settings.time_zone),
        training_temperature_range_c=(float(t.min()), float(t.max())),
        statistics=statistics,
        sufficiency=sufficiency,
    )


def _daily_sum_inflation(design: _Design, residuals: np.ndarray, variance: float, time_zone: str) -> float:
    """Var(sum of a local day's residuals) / (intervals x s²): > 1 when residuals are autocorrelated."""
    if design.resolution == "daily" or variance <= 0:
        return 1.0
    series = pd.Series(residuals, index=design.index)
    days = compute_local_day_start(design.index, time_zone)
    grouped = series.groupby(days)
    sums, sizes = grouped.sum(), grouped.count()
    full = sizes >= 0.9 * SECONDS_PER_DAY / design.interval_seconds
    if full.sum() < 7:
        return 1.0
    return float(max(1.0, (sums[full] ** 2).sum() / (sizes[full].sum() * variance)))
