"""Model quality: ASHRAE Guideline 14 CV(RMSE) and NMBE, and an out-of-sample backtest.

Guideline 14 defines, for n observations y with mean ȳ, model ŷ and p model parameters,
CV(RMSE) = sqrt(Σ(y - ŷ)² / (n - p)) / ȳ and NMBE = Σ(y - ŷ) / ((n - p) ȳ). In sample p is the
parameter count; out of sample (a held-out period the model never saw) p = 0, which is what
:func:`backtest` uses. NMBE > 0 means the model under-predicts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from portfolio.analytics.degree_days import compute_interval_seconds, compute_local_daily_totals
from portfolio.analytics.forecast import TemperatureModel
from portfolio.timekeeping import SECONDS_PER_DAY


def compute_cvrmse_pct(actual_kwh: pd.Series, expected_kwh: pd.Series, n_parameters: int = 0) -> float:
    """CV(RMSE) [%] over the timestamps where both exist (ASHRAE Guideline 14)."""
    actual, expected = _paired(actual_kwh, expected_kwh)
    n = len(actual)
    if n - n_parameters <= 0 or actual.mean() == 0:
        return float("nan")
    return float(100 * np.sqrt(((actual - expected) ** 2).sum() / (n - n_parameters)) / actual.mean())


def compute_nmbe_pct(actual_kwh: pd.Series, expected_kwh: pd.Series, n_parameters: int = 0) -> float:
    """NMBE [%] over the timestamps where both exist (ASHRAE Guideline 14); > 0 is under-prediction."""
    actual, expected = _paired(actual_kwh, expected_kwh)
    n = len(actual)
    if n - n_parameters <= 0 or actual.mean() == 0:
        return float("nan")
    return float(100 * (actual - expected).sum() / ((n - n_parameters) * actual.mean()))


def _paired(actual_kwh: pd.Series, expected_kwh: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    frame = pd.concat([actual_kwh.rename("actual"), expected_kwh.rename("expected")], axis=1).dropna()
    return frame["actual"].to_numpy(dtype=float), frame["expected"].to_numpy(dtype=float)


@dataclass(frozen=True)
class BacktestResult:
    """Out-of-sample scores (p = 0) of a model fitted before ``split_at`` and scored from it on.

    ``interval_coverage``: share of held-out actuals inside the ``level`` prediction interval.
    """

    cvrmse_pct: float
    nmbe_pct: float
    n: int
    split_at: pd.Timestamp
    resolution: str
    interval_coverage: float
    level: float


def backtest(
    readings_kwh: pd.Series,
    temperature_c: pd.Series,
    model: TemperatureModel | None = None,
    *,
    holdout_fraction: float = 0.25,
    split_at: pd.Timestamp | None = None,
    per_local_day: bool = False,
    level: float = 0.9,
) -> BacktestResult:
    """Fit on the first part of ``readings_kwh`` [kWh], score the rest from observed temperatures.

    The split is ``split_at`` (UTC) or, by default, the point leaving the last ``holdout_fraction`` of
    the observed (non-missing) intervals out. ``per_local_day`` scores an interval model on the sums of
    complete local days. Missing readings are left out of both fit and score.

    Raises
    ------
    DataSufficiencyError
        When the training part cannot support the model.
    """
    model = model or TemperatureModel()
    readings_kwh = readings_kwh.dropna().sort_index()
    if split_at is None:
        split_at = readings_kwh.index[int(len(readings_kwh) * (1 - holdout_fraction))]
    train, test = readings_kwh[readings_kwh.index < split_at], readings_kwh[readings_kwh.index >= split_at]
    fitted = model.fit(train, temperature_c)
    if per_local_day and fitted.resolution == "interval":
        actual = compute_local_daily_totals(test, fitted.time_zone, fitted.interval_seconds)
        prediction = fitted.predict(
            temperature_c, pd.DatetimeIndex(test.index), level=level, per_local_day=True
        ).reindex(pd.DatetimeIndex(actual.index))
        resolution = "daily"
    else:
        if fitted.resolution == "daily" and len(test) > 1:
            seconds = compute_interval_seconds(pd.DatetimeIndex(test.index))
            test = compute_local_daily_totals(test, fitted.time_zone, seconds) if seconds < SECONDS_PER_DAY else test
        actual = test
        prediction = fitted.predict(temperature_c, pd.DatetimeIndex(actual.index), level=level)
        resolution = fitted.resolution
    scored = prediction["expected_kwh"].notna() & actual.notna()
    inside = (actual >= prediction["lower_kwh"]) & (actual <= prediction["upper_kwh"])
    return BacktestResult(
        cvrmse_pct=compute_cvrmse_pct(actual, prediction["expected_kwh"]),
        nmbe_pct=compute_nmbe_pct(actual, prediction["expected_kwh"]),
        n=int(scored.sum()),
        split_at=pd.Timestamp(split_at),
        resolution=resolution,
        interval_coverage=float(inside[scored].mean()) if scored.any() else float("nan"),
        level=level,
    )
