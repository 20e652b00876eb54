"""A fitted expected-consumption model: what prediction needs, stored as JSON, rebuilt without the data.

:class:`FittedTemperatureModel` is produced by :meth:`portfolio.analytics.forecast.TemperatureModel.fit`
(the search and the fit live there) and used by pages, trackers and the batch series for prediction only.
The feature builders here (season temperature, degree-term columns) are shared by fit and prediction, so
both see exactly the same design.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Any, Literal

import numpy as np
import pandas as pd

from portfolio.analytics.degree_days import (
    compute_cooling_degrees,
    compute_daily_mean_temperature,
    compute_heating_degrees,
    compute_interval_temperature,
    compute_local_day_of_week,
    compute_local_day_start,
    compute_local_time_of_week,
)

SEASON_WINDOW_HOURS = 168
SCHEMA = "portfolio.temperature_model/2"
SCHEMAS_READ = ("portfolio.temperature_model/1", SCHEMA)  # /1: stored before heating-season gates


@dataclass(frozen=True)
class DataSufficiency:
    """What the readings offer a model; ``is_sufficient`` is False with ``reasons`` when they fall short."""

    resolution: Literal["daily", "interval"]
    interval_seconds: int
    available_days: float
    needed_days: int
    min_bin_observations: int
    needed_bin_observations: int
    reasons: tuple[str, ...] = ()

    @property
    def is_sufficient(self) -> bool:
        return not self.reasons


@dataclass(frozen=True)
class FitStatistics:
    """In-sample fit: CV(RMSE) and NMBE per ASHRAE Guideline 14 with p = parameters [%]."""

    n: int
    n_parameters: int
    r_squared: float
    adjusted_r_squared: float
    cvrmse_pct: float
    nmbe_pct: float
    residual_sd_kwh: float
    mean_kwh: float


def compute_season_temperature(
    temperature_c: pd.Series, index: pd.DatetimeIndex, resolution: str, fallback_c: np.ndarray
) -> np.ndarray:
    """Trailing 7-day mean air temperature [°C] at each row: whether the heating is likely to be on.

    Heating is switched on for the season (autumn) and off again (spring) on the week's weather more
    than on the hour's: a mild September night does not start a boiler that a mild March night keeps
    running. A daily row's week ends with its own day. Where less than half the week is observed the
    row's own temperature stands in.
    """
    at = index + pd.Timedelta(days=1) if resolution == "daily" else index
    season = compute_interval_temperature(temperature_c, at, SEASON_WINDOW_HOURS).to_numpy(dtype=float)
    return np.where(np.isnan(season), fallback_c, season)


@dataclass(frozen=True)
class Calibration:
    """Out-of-sample check made at fit time on the latest ``holdout`` share of the data.

    ``interval_scale`` / ``daily_scale`` multiply the standard errors of per-interval / per-day
    predictions; ``holdout_cvrmse_pct`` and ``holdout_nmbe_pct`` are ASHRAE Guideline 14 scores (p = 0)
    at the model's own resolution.
    """

    calibrated: bool = False
    interval_scale: float = 1.0
    daily_scale: float = 1.0
    holdout_points: int = 0
    holdout_cvrmse_pct: float | None = None
    holdout_nmbe_pct: float | None = None


def normal_quantile(level: float) -> float:
    return NormalDist().inv_cdf(0.5 + level / 2)


def compute_term_columns(
    temperature_c: np.ndarray,
    season_c: np.ndarray,
    groups: np.ndarray,
    terms: tuple[str, ...],
    heating_c: float | None,
    cooling_c: float | None,
    gate_c: float | None,
) -> np.ndarray:
    columns = []
    for term in terms:
        kind, group = term.split("_")
        if kind == "heating":
            if heating_c is None:
                raise ValueError(f"term {term!r} needs a heating balance point")
            degrees = compute_heating_degrees(temperature_c, heating_c)
            if gate_c is not None:
                degrees = degrees * (season_c < gate_c)
        else:
            if cooling_c is None:
                raise ValueError(f"term {term!r} needs a cooling balance point")
            degrees = compute_cooling_degrees(temperature_c, cooling_c)
        columns.append(degrees * (groups == (group == "occupied")) if group != "all" else degrees)
    return np.column_stack(columns) if columns else np.empty((len(temperature_c), 0))


@dataclass(frozen=True, eq=False)
class FittedTemperatureModel:
    """A fitted model: everything ``predict`` needs, JSON-able through :meth:`to_dict`."""

    resolution: Literal["daily", "interval"]
    interval_seconds: int
    time_zone: str
    holidays: tuple[dt.date, ...]
    temperature_window_hours: int
    terms: tuple[str, ...]
    heating_balance_point_c: float | None
    cooling_balance_point_c: float | None
    heating_season_gate_c: float | None
    slopes_kwh_per_k: np.ndarray
    slope_p_values: np.ndarray
    unscaled_covariance: np.ndarray
    bin_intercepts_kwh: np.ndarray
    bin_counts: np.ndarray
    bin_term_means: np.ndarray
    bin_occupied: np.ndarray
    residual_variance_kwh2: float
    daily_sum_variance_inflation: float
    training_temperature_range_c: tuple[float, float]
    statistics: FitStatistics
    sufficiency: DataSufficiency
    calibration: Calibration = field(default_factory=Calibration)
    schema: str = field(default=SCHEMA)

    @property
    def candidate(self) -> str:
        """CalTRACK candidate name: intercept_only, heating, cooling or heating_cooling."""
        kinds = [kind for kind in ("heating", "cooling") if any(term.startswith(kind) for term in self.terms)]
        return "_".join(kinds) or "intercept_only"

    def _features(self, temperature_c: pd.Series, index: pd.DatetimeIndex) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        index = index.tz_convert("UTC")
        if self.resolution == "daily":
            index = compute_local_day_start(index, self.time_zone)
            t = compute_daily_mean_temperature(temperature_c, self.time_zone).reindex(index).to_numpy(dtype=float)
            bins = compute_local_day_of_week(index, self.time_zone, self.holidays)
        else:
            t = compute_interval_temperature(temperature_c, index, self.temperature_window_hours).to_numpy(dtype=float)
            bins = compute_local_time_of_week(index, self.time_zone, self.interval_seconds, self.holidays)
        season = (
            compute_season_temperature(temperature_c, index, self.resolution, t)
            if self.heating_season_gate_c is not None
            else t
        )
        return t, season, bins

    def predict(
        self, temperature_c: pd.Series, index: pd.DatetimeIndex, *, level: float = 0.9, per_local_day: bool = False
    ) -> pd.DataFrame:
        """Expected energy per interval of ``index`` [kWh] with a ``level`` prediction interval.

        ``index`` holds UTC interval starts (local-midnight instants for a daily model); ``temperature_c``
        is hourly air temperature [°C] covering them. The standard error is the OLS prediction error
        s·sqrt(1 + x0'(X'X)^-1 x0), so it grows away from the training data. ``per_local_day`` sums the
        intervals of each local day: the parameter part of the variance uses the summed design row and
        the noise part is inflated by the in-sample autocorrelation of residuals within a day. The
        standard error is then scaled by the fit-time hold-out calibration (:class:`Calibration`), so
        intervals reflect out-of-sample error, not just in-sample scatter. Intervals without temperature get NaN (or are left out of the day). Columns: expected_kwh,
        standard_error_kwh, lower_kwh, upper_kwh, temperature_c, extrapolated (temperature outside the
        training range), intervals (summed).
        """
        index = pd.DatetimeIndex(index).tz_convert("UTC")
        t, season, bins = self._features(temperature_c, index)
        ok = ~np.isnan(t) & (self.bin_counts[bins] > 0)
        t, season, bins, rows = t[ok], season[ok], bins[ok], index[ok]
        terms = compute_term_columns(
            t,
            season,
            self.bin_occupied[bins],
            self.terms,
            self.heating_balance_point_c,
            self.cooling_balance_point_c,
            self.heating_season_gate_c,
        )
        expected = self.bin_intercepts_kwh[bins] + terms @ self.slopes_kwh_per_k
        centred = terms - self.bin_term_means[bins]
        low, high = self.training_temperature_range_c
        frame = pd.DataFrame(
            {"expected_kwh": expected, "temperature_c": t, "extrapolated": (t < low) | (t > high), "intervals": 1},
            index=rows,
        )
        inverse_counts = 1 / self.bin_counts[bins]
        noise: np.ndarray | float
        if per_local_day and self.resolution != "daily":
            day = compute_local_day_start(rows, self.time_zone)
            # sum over the day's bins of c_b^2 / n_b, c_b = intervals of bin b in the day
            per_bin = pd.Series(inverse_counts).groupby([day, bins]).agg(["sum", "count"])
            bin_part = (per_bin["sum"] * per_bin["count"]).groupby(level=0).sum().to_numpy()
            centred = pd.DataFrame(centred).groupby(day).sum().to_numpy()
            frame = frame.groupby(day).agg(
                expected_kwh=("expected_kwh", "sum"),
                temperature_c=("temperature_c", "mean"),
                extrapolated=("extrapolated", "any"),
                intervals=("intervals", "sum"),
            )
            noise = frame["intervals"].to_numpy(dtype=float) * self.daily_sum_variance_inflation
            output_index = frame.index
        else:
            bin_part, noise, output_index = inverse_counts, 1.0, index
        slope_part = np.einsum("ij,jk,ik->i", centred, self.unscaled_covariance, centred)
        daily = per_local_day or self.resolution == "daily"
        scale = self.calibration.daily_scale if daily else self.calibration.interval_scale
        se = scale * np.sqrt(self.residual_variance_kwh2 * (bin_part + slope_part + noise))
        z = normal_quantile(level)
        frame["standard_error_kwh"] = se
        frame["lower_kwh"] = frame["expected_kwh"] - z * se
        frame["upper_kwh"] = frame["expected_kwh"] + z * se
        columns = [
            "expected_kwh",
            "standard_error_kwh",
            "lower_kwh",
            "upper_kwh",
            "temperature_c",
            "extrapolated",
            "intervals",
        ]
        return frame[columns].reindex(output_index)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict (lists, floats, strings) for storage; :meth:`from_dict` reverses it."""
        data: dict[str, Any] = {}
        for item in dataclasses.fields(self):
            value = getattr(self, item.name)
            if isinstance(value, np.ndarray):
                value = value.tolist()
            elif item.name == "holidays":
                value = [day.isoformat() for day in value]
            elif dataclasses.is_dataclass(value) and not isinstance(value, type):
                value = dataclasses.asdict(value)
                value = {key: list(entry) if isinstance(entry, tuple) else entry for key, entry in value.items()}
            elif isinstance(value, tuple):
                value = list(value)
            data[item.name] = value
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FittedTemperatureModel:
        """Rebuild a model stored with :meth:`to_dict`."""
        if data.get("schema") not in SCHEMAS_READ:
            raise ValueError(f"unknown model schema {data.get('schema')!r}, expected {SCHEMA!r}")
        k = len(data["terms"])
        return cls(
            resolution=data["resolution"],
            interval_seconds=int(data["interval_seconds"]),
            time_zone=data["time_zone"],
            holidays=tuple(dt.date.fromisoformat(day) for day in data["holidays"]),
            temperature_window_hours=int(data["temperature_window_hours"]),
            terms=tuple(data["terms"]),
            heating_balance_point_c=data["heating_balance_point_c"],
            cooling_balance_point_c=data["cooling_balance_point_c"],
            heating_season_gate_c=data.get("heating_season_gate_c"),
            slopes_kwh_per_k=np.asarray(data["slopes_kwh_per_k"], dtype=float),
            slope_p_values=np.asarray(data["slope_p_values"], dtype=float),
            unscaled_covariance=np.asarray(data["unscaled_covariance"], dtype=float).reshape(k, k),
            bin_intercepts_kwh=np.asarray(data["bin_intercepts_kwh"], dtype=float),
            bin_counts=np.asarray(data["bin_counts"], dtype=float),
            bin_term_means=np.asarray(data["bin_term_means"], dtype=float).reshape(len(data["bin_counts"]), k),
            bin_occupied=np.asarray(data["bin_occupied"], dtype=bool),
            residual_variance_kwh2=float(data["residual_variance_kwh2"]),
            daily_sum_variance_inflation=float(data["daily_sum_variance_inflation"]),
            training_temperature_range_c=tuple(data["training_temperature_range_c"]),
            statistics=FitStatistics(**data["statistics"]),
            sufficiency=DataSufficiency(**{**data["sufficiency"], "reasons": tuple(data["sufficiency"]["reasons"])}),
            calibration=Calibration(**data["calibration"]) if "calibration" in data else Calibration(),
        )
